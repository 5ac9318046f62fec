// snn_kernel - top of the RTL kernel: a Vitis RTL kernel (ap_ctrl_hs on
// s_axi_control, one AXI4 master m_axi_gmem) that runs a deploy image on a
// batch of images with the integer semantics of docs/numerics.md.
//
//   s_axi_control -> snn_ctrl --start--> snn_loader (model -> on-chip RAMs, layer cfg)
//                                         |
//   m_axi_gmem R -> snn_axi_rd --+--------+-> snn_pix_fetch -> pixel buffer (2 images)
//                                                                 |
//   spike maps (2) ------------------------------------------> snn_scan (events)
//                                                                 | spike queue (snn_fifo)
//   snn_sched (jobs, banks, dependencies)                     snn_expand (taps x groups)
//                                                                 |
//   weights ----------------------------------------------->  snn_accum (LANES x RMW)
//                                                                 | acc bank 0 / 1, token
//   thresholds, polarity, bias, membranes, spike maps <---->  snn_post -> snn_axi_wr -> m_axi_gmem W
//
// Interface, maxima and timing: docs/rtl.md; register map: docs/register-map.md.
`default_nettype none

module snn_kernel
  import snn_pkg::*;
#(
  parameter int unsigned LANES = 8,                        // accumulate lanes: 1, 2, 4, 8 or 16
  parameter int unsigned C_S_AXI_CONTROL_ADDR_WIDTH = 7,   // register space 128 bytes
  parameter int unsigned C_M_AXI_GMEM_ADDR_WIDTH = 64,     // device address width
  parameter int unsigned C_M_AXI_GMEM_DATA_WIDTH = 64,     // beat width (64 only)
  parameter int unsigned MAX_LAYERS = 16,                  // layers of a deploy image
  parameter int unsigned MAX_T = 16,                       // time steps
  parameter int unsigned MAX_CLASSES = 64,                 // output classes
  parameter int unsigned MAX_PIXELS = 4096,                // bytes of one image
  parameter int unsigned MAX_NEURONS = 65536,              // accumulator / membrane words, all lanes
  parameter int unsigned MAX_TH_NEURONS = 131072,          // threshold words over conv/fc layers, all lanes
  parameter int unsigned MAX_WEIGHT_BYTES = 1048576,       // weight bytes on chip, lane-padded
  parameter int unsigned MAX_CHANNELS = 8192,              // bias words over layers, lane-padded
  parameter int unsigned MAX_SPIKE_WORDS = 16384           // 32-bit spike-map words per map buffer
) (
  input  wire                                    ap_clk,
  input  wire                                    ap_rst_n,
  // The Vitis port name is also a C++ word; Verilator renames it internally.
  /* verilator lint_off SYMRSVDWORD */
  output logic                                   interrupt,
  /* verilator lint_on SYMRSVDWORD */

  input  wire                                    s_axi_control_awvalid,
  output logic                                   s_axi_control_awready,
  input  wire [C_S_AXI_CONTROL_ADDR_WIDTH-1:0]   s_axi_control_awaddr,
  input  wire                                    s_axi_control_wvalid,
  output logic                                   s_axi_control_wready,
  input  wire [31:0]                             s_axi_control_wdata,
  input  wire [3:0]                              s_axi_control_wstrb,
  output logic                                   s_axi_control_bvalid,
  input  wire                                    s_axi_control_bready,
  output logic [1:0]                             s_axi_control_bresp,
  input  wire                                    s_axi_control_arvalid,
  output logic                                   s_axi_control_arready,
  input  wire [C_S_AXI_CONTROL_ADDR_WIDTH-1:0]   s_axi_control_araddr,
  output logic                                   s_axi_control_rvalid,
  input  wire                                    s_axi_control_rready,
  output logic [31:0]                            s_axi_control_rdata,
  output logic [1:0]                             s_axi_control_rresp,

  output logic                                   m_axi_gmem_awvalid,
  input  wire                                    m_axi_gmem_awready,
  output logic [C_M_AXI_GMEM_ADDR_WIDTH-1:0]     m_axi_gmem_awaddr,
  output logic [7:0]                             m_axi_gmem_awlen,
  output logic                                   m_axi_gmem_wvalid,
  input  wire                                    m_axi_gmem_wready,
  output logic [C_M_AXI_GMEM_DATA_WIDTH-1:0]     m_axi_gmem_wdata,
  output logic [C_M_AXI_GMEM_DATA_WIDTH/8-1:0]   m_axi_gmem_wstrb,
  output logic                                   m_axi_gmem_wlast,
  input  wire                                    m_axi_gmem_bvalid,
  output logic                                   m_axi_gmem_bready,
  input  wire [1:0]                              m_axi_gmem_bresp,
  output logic                                   m_axi_gmem_arvalid,
  input  wire                                    m_axi_gmem_arready,
  output logic [C_M_AXI_GMEM_ADDR_WIDTH-1:0]     m_axi_gmem_araddr,
  output logic [7:0]                             m_axi_gmem_arlen,
  input  wire                                    m_axi_gmem_rvalid,
  output logic                                   m_axi_gmem_rready,
  input  wire [C_M_AXI_GMEM_DATA_WIDTH-1:0]      m_axi_gmem_rdata,
  input  wire                                    m_axi_gmem_rlast,
  input  wire [1:0]                              m_axi_gmem_rresp
);

  // ---- derived sizes -----------------------------------------------------------------
  localparam int unsigned GA        = C_M_AXI_GMEM_ADDR_WIDTH;
  localparam int unsigned ACC_DEPTH = MAX_NEURONS / LANES;       // accumulator / membrane words per lane
  localparam int unsigned TH_DEPTH  = MAX_TH_NEURONS / LANES;    // threshold words per lane
  localparam int unsigned W_DEPTH   = MAX_WEIGHT_BYTES / LANES;  // weight words (LANES bytes each)
  localparam int unsigned B_DEPTH   = MAX_CHANNELS / LANES;      // bias words per lane
  localparam int unsigned BM_DEPTH  = MAX_SPIKE_WORDS / LANES;   // spike-map words per lane and buffer
  localparam int unsigned PB_DEPTH  = MAX_PIXELS / 4;            // pixel-buffer words, two slots
  localparam int unsigned XAW = $clog2(ACC_DEPTH);
  localparam int unsigned TAW = $clog2(TH_DEPTH);
  localparam int unsigned WAW = $clog2(W_DEPTH);
  localparam int unsigned BAW = $clog2(B_DEPTH);
  localparam int unsigned MAW = $clog2(BM_DEPTH);
  localparam int unsigned PAW = $clog2(MAX_PIXELS / 8);          // word address bits of one slot
  localparam int unsigned LD  = LANES * 32;                      // bits of a lane-wide word

`ifndef SYNTHESIS
  initial begin
    if ($bits(event_t) != EventW) $fatal(1, "snn_kernel: EventW does not match event_t");
    if (C_M_AXI_GMEM_DATA_WIDTH != 64) $fatal(1, "snn_kernel: only a 64-bit m_axi_gmem is supported");
    if (LANES < 1 || LANES > 16 || (LANES & (LANES - 1)) != 0)
      $fatal(1, "snn_kernel: LANES must be 1, 2, 4, 8 or 16");
    if (MAX_PIXELS < 64 || ACC_DEPTH < 2 || TH_DEPTH < 2 || W_DEPTH < 2 || B_DEPTH < 2 || BM_DEPTH < 2)
      $fatal(1, "snn_kernel: a maximum is too small for LANES");
  end
`endif

  logic clk, rst_n;
  assign clk   = ap_clk;
  assign rst_n = ap_rst_n;

  // ---- control -------------------------------------------------------------------------
  logic        ctrl_start, run_done;
  logic [63:0] arg_model, arg_images, arg_results, arg_trace;
  logic [31:0] arg_n_images;

  snn_ctrl #(.ADDR_W(C_S_AXI_CONTROL_ADDR_WIDTH)) u_ctrl (
    .clk_i       (clk),
    .rst_ni      (rst_n),
    .awvalid_i   (s_axi_control_awvalid),
    .awready_o   (s_axi_control_awready),
    .awaddr_i    (s_axi_control_awaddr),
    .wvalid_i    (s_axi_control_wvalid),
    .wready_o    (s_axi_control_wready),
    .wdata_i     (s_axi_control_wdata),
    .wstrb_i     (s_axi_control_wstrb),
    .bvalid_o    (s_axi_control_bvalid),
    .bready_i    (s_axi_control_bready),
    .bresp_o     (s_axi_control_bresp),
    .arvalid_i   (s_axi_control_arvalid),
    .arready_o   (s_axi_control_arready),
    .araddr_i    (s_axi_control_araddr),
    .rvalid_o    (s_axi_control_rvalid),
    .rready_i    (s_axi_control_rready),
    .rdata_o     (s_axi_control_rdata),
    .rresp_o     (s_axi_control_rresp),
    .start_o     (ctrl_start),
    .done_i      (run_done),
    .model_o     (arg_model),
    .images_o    (arg_images),
    .results_o   (arg_results),
    .trace_o     (arg_trace),
    .n_images_o  (arg_n_images),
    .flags_o     (),
    .interrupt_o (interrupt)
  );

  // ---- run sequencing ----------------------------------------------------------------------
  typedef enum logic [2:0] { RIdle, RLoad, RClear, RRun, RFinish, RDone } run_e;
  run_e run_q, run_d;

  logic [GA-1:0] model_q, images_q, results_q, trace_q;
  logic [31:0]   n_images_q;
  logic          ld_done;
  logic [1:0]    ld_status;
  logic          post_done, wr_idle, sched_idle;
  logic          go;              // pulse: images start
  logic          nofit_q;

  always_comb begin
    run_d = run_q;
    unique case (run_q)
      RIdle:   if (ctrl_start) run_d = (arg_n_images == '0) ? RFinish : RLoad;
      RLoad:   if (ld_done) run_d = (ld_status == 2'd1) ? RFinish : RClear;
      RClear:  if (clr_done) run_d = RRun;
      RRun:    if (post_done) run_d = RFinish;
      RFinish: if (wr_idle && sched_idle) run_d = RDone;
      RDone:   run_d = RIdle;
      default: run_d = RIdle;
    endcase
  end

  assign run_done = (run_q == RDone);
  assign go       = (run_q == RClear) && clr_done;

  // Both accumulator banks are zeroed while the model loads: every pass
  // leaves the words it used at zero, so they stay clean for the whole run.
  logic           clr_active_q, clr_done;
  logic [XAW-1:0] clr_addr_q;
  assign clr_done = !clr_active_q;
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      clr_active_q <= 1'b0;
      clr_addr_q   <= '0;
    end else if (run_q == RIdle && ctrl_start) begin
      clr_active_q <= 1'b1;
      clr_addr_q   <= '0;
    end else if (clr_active_q) begin
      clr_addr_q <= clr_addr_q + 1'b1;
      if (clr_addr_q == XAW'(ACC_DEPTH - 1)) clr_active_q <= 1'b0;
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      run_q   <= RIdle;
      nofit_q <= 1'b0;
    end else begin
      run_q <= run_d;
      if (run_q == RIdle && ctrl_start) begin
        model_q    <= GA'(arg_model);
        images_q   <= GA'(arg_images);
        results_q  <= GA'(arg_results);
        trace_q    <= GA'(arg_trace);
        n_images_q <= arg_n_images;
      end
      if (run_q == RLoad && ld_done) nofit_q <= (ld_status == 2'd2);
    end
  end

  // ---- read engine and its two clients --------------------------------------------------
  logic          rd_cmd_valid, rd_cmd_ready, rd_dat_valid, rd_dat_ready;
  logic [GA-1:0] rd_cmd_addr;
  logic [23:0]   rd_cmd_beats;
  logic [63:0]   rd_dat;
  logic          ld_cmd_valid, ld_dat_ready, pf_cmd_valid, pf_dat_ready;
  logic [GA-1:0] ld_cmd_addr, pf_cmd_addr;
  logic [23:0]   ld_cmd_beats, pf_cmd_beats;
  logic          loading;

  assign loading      = (run_q == RLoad);
  assign rd_cmd_valid = loading ? ld_cmd_valid : pf_cmd_valid;
  assign rd_cmd_addr  = loading ? ld_cmd_addr : pf_cmd_addr;
  assign rd_cmd_beats = loading ? ld_cmd_beats : pf_cmd_beats;
  assign rd_dat_ready = loading ? ld_dat_ready : pf_dat_ready;

  snn_axi_rd #(.GA(GA)) u_rd (
    .clk_i       (clk),
    .rst_ni      (rst_n),
    .cmd_valid_i (rd_cmd_valid),
    .cmd_ready_o (rd_cmd_ready),
    .cmd_addr_i  (rd_cmd_addr),
    .cmd_beats_i (rd_cmd_beats),
    .dat_valid_o (rd_dat_valid),
    .dat_ready_i (rd_dat_ready),
    .dat_data_o  (rd_dat),
    .arvalid_o   (m_axi_gmem_arvalid),
    .arready_i   (m_axi_gmem_arready),
    .araddr_o    (m_axi_gmem_araddr),
    .arlen_o     (m_axi_gmem_arlen),
    .rvalid_i    (m_axi_gmem_rvalid),
    .rready_o    (m_axi_gmem_rready),
    .rdata_i     (m_axi_gmem_rdata)
  );

  // ---- loader ---------------------------------------------------------------------------------
  layer_cfg_t [MAX_LAYERS-1:0] cfg;
  layer_cfg_t       cfg0;          // layer 0: its input is the image
  assign cfg0 = cfg[0];
  logic [4:0]       n_layers, n_t;
  logic [6:0]       n_classes;
  logic [AddrW-1:0] n_pix, trace_step, trace_words, rec_words;
  logic [8:0]       gpi;
  logic             ld_w_we;
  logic [WAW-1:0]   ld_w_addr;
  logic [LANES*8-1:0] ld_w_data;
  logic [LANES-1:0] ld_b_we, ld_th_we, ld_pol_we;
  logic [BAW-1:0]   ld_b_addr;
  logic [31:0]      ld_b_data, ld_th_data;
  logic [TAW-1:0]   ld_th_addr;
  logic             ld_pol_data;

  snn_loader #(
    .LANES(LANES), .GA(GA), .MAX_LAYERS(MAX_LAYERS), .MAX_T(MAX_T), .MAX_CLASSES(MAX_CLASSES),
    .MAX_PIXELS(MAX_PIXELS), .ACC_DEPTH(ACC_DEPTH), .TH_DEPTH(TH_DEPTH), .W_DEPTH(W_DEPTH),
    .B_DEPTH(B_DEPTH), .BM_DEPTH(BM_DEPTH)
  ) u_loader (
    .clk_i         (clk),
    .rst_ni        (rst_n),
    .start_i       (run_q == RIdle && ctrl_start && arg_n_images != '0),
    .model_i       (GA'(arg_model)),
    .done_o        (ld_done),
    .status_o      (ld_status),
    .cmd_valid_o   (ld_cmd_valid),
    .cmd_ready_i   (rd_cmd_ready),
    .cmd_addr_o    (ld_cmd_addr),
    .cmd_beats_o   (ld_cmd_beats),
    .dat_valid_i   (rd_dat_valid && loading),
    .dat_ready_o   (ld_dat_ready),
    .dat_data_i    (rd_dat),
    .n_layers_o    (n_layers),
    .t_o           (n_t),
    .n_classes_o   (n_classes),
    .n_pix_o       (n_pix),
    .trace_step_o  (trace_step),
    .trace_words_o (trace_words),
    .rec_words_o   (rec_words),
    .gpi_o         (gpi),
    .cfg_o         (cfg),
    .w_we_o        (ld_w_we),
    .w_addr_o      (ld_w_addr),
    .w_data_o      (ld_w_data),
    .b_we_o        (ld_b_we),
    .b_addr_o      (ld_b_addr),
    .b_data_o      (ld_b_data),
    .th_we_o       (ld_th_we),
    .pol_we_o      (ld_pol_we),
    .th_addr_o     (ld_th_addr),
    .th_data_o     (ld_th_data),
    .pol_data_o    (ld_pol_data)
  );

  // ---- pixel fetch ------------------------------------------------------------------------------
  logic             pb_we, pb_re;
  logic [PAW:0]     pb_waddr, pb_raddr;
  logic [63:0]      pb_wdata, pb_rdata;
  logic [1:0]       pix_full, pix_release;

  snn_pix_fetch #(.GA(GA), .PAW(PAW)) u_pix (
    .clk_i       (clk),
    .rst_ni      (rst_n),
    .start_i     (go && !nofit_q),
    .images_i    (images_q),
    .n_pix_i     (n_pix),
    .n_images_i  (n_images_q),
    .cmd_valid_o (pf_cmd_valid),
    .cmd_ready_i (rd_cmd_ready),
    .cmd_addr_o  (pf_cmd_addr),
    .cmd_beats_o (pf_cmd_beats),
    .dat_valid_i (rd_dat_valid && !loading),
    .dat_ready_o (pf_dat_ready),
    .dat_data_i  (rd_dat),
    .pb_we_o     (pb_we),
    .pb_addr_o   (pb_waddr),
    .pb_data_o   (pb_wdata),
    .full_o      (pix_full),
    .release_i   (pix_release)
  );

  snn_ram #(.WIDTH(64), .DEPTH(PB_DEPTH)) u_pixbuf (
    .clk_i (clk), .we_i (pb_we), .waddr_i (pb_waddr), .wdata_i (pb_wdata),
    .re_i (pb_re), .raddr_i (pb_raddr), .rdata_o (pb_rdata)
  );

  // ---- accumulate side ------------------------------------------------------------------------
  logic             job_start, job_bank, job_done;
  layer_cfg_t       jc;
  logic             sc_pix, sc_slot, sc_buf;
  logic [AddrW-1:0] sc_n_pix, sc_base;
  logic [DimW-1:0]  sc_grp, sc_h, sc_w;
  logic [4:0]       sc_last_lanes;
  logic [7:0]       sc_wpr;
  logic [31:0]      job_synops, groups;
  logic             tok_valid, tok_ready, tok_bank;
  logic [31:0]      tok_synops;
  logic             ptok_valid, ptok_ready;
  logic [32:0]      ptok_data;
  logic             free, free_bank;

  snn_sched #(.MAX_LAYERS(MAX_LAYERS)) u_sched (
    .clk_i             (clk),
    .rst_ni            (rst_n),
    .start_i           (go && !nofit_q),
    .n_images_i        (n_images_q),
    .cfg_i             (cfg),
    .n_layers_i        (n_layers),
    .t_i               (n_t),
    .gpi_i             (gpi),
    .n_pix_i           (n_pix),
    .img_h_i           (cfg0.in_h),
    .img_w_i           (cfg0.in_w),
    .pix_full_i        (pix_full),
    .pix_release_o     (pix_release),
    .groups_i          (groups),
    .free_i            (free),
    .free_bank_i       (free_bank),
    .job_start_o       (job_start),
    .job_bank_o        (job_bank),
    .job_cfg_o         (jc),
    .scan_pix_o        (sc_pix),
    .scan_slot_o       (sc_slot),
    .scan_n_pix_o      (sc_n_pix),
    .scan_buf_o        (sc_buf),
    .scan_base_o       (sc_base),
    .scan_grp_o        (sc_grp),
    .scan_last_lanes_o (sc_last_lanes),
    .scan_h_o          (sc_h),
    .scan_w_o          (sc_w),
    .scan_wpr_o        (sc_wpr),
    .job_done_i        (job_done),
    .job_synops_i      (job_synops),
    .tok_valid_o       (tok_valid),
    .tok_ready_i       (tok_ready),
    .tok_bank_o        (tok_bank),
    .tok_synops_o      (tok_synops),
    .idle_o            (sched_idle)
  );

  // spike maps: two buffers, each one write port (post) and one read port
  // shared by the post side (priority) and the scanner
  logic          mw_we, mw_buf, pm_req, pm_buf, sm_req, sm_buf, sm_gnt;
  logic [MAW-1:0] mw_addr, pm_addr, sm_addr;
  logic [LD-1:0] mw_data, map_rdata [2];
  logic          pm_rbuf_q;
  logic [LD-1:0] pm_rdata, sm_rdata;

  assign sm_gnt   = !(pm_req && pm_buf == sm_buf);
  assign pm_rdata = map_rdata[pm_rbuf_q];
  assign sm_rdata = map_rdata[sm_buf];
  always_ff @(posedge clk) pm_rbuf_q <= pm_buf;

  for (genvar b = 0; b < 2; b++) begin : g_map
    logic post_rd;
    assign post_rd = pm_req && (pm_buf == 1'(b));
    snn_ram #(.WIDTH(LD), .DEPTH(BM_DEPTH)) u_map (
      .clk_i   (clk),
      .we_i    (mw_we && mw_buf == 1'(b)),
      .waddr_i (mw_addr),
      .wdata_i (mw_data),
      .re_i    (post_rd || (sm_req && sm_buf == 1'(b))),
      .raddr_i (post_rd ? pm_addr : sm_addr),
      .rdata_o (map_rdata[b])
    );
  end

  logic   ev_valid, ev_ready, q_valid, q_ready, scan_busy;
  logic [4:0] queue_count;
  logic [2:0] tok_count;
  event_t ev, q_ev;

  snn_scan #(.LANES(LANES), .PAW(PAW), .MAW(MAW)) u_scan (
    .clk_i        (clk),
    .rst_ni       (rst_n),
    .start_i      (job_start),
    .pix_i        (sc_pix),
    .slot_i       (sc_slot),
    .n_pix_i      (sc_n_pix),
    .buf_i        (sc_buf),
    .base_i       (sc_base),
    .grp_i        (sc_grp),
    .last_lanes_i (sc_last_lanes),
    .h_i          (sc_h),
    .w_i          (sc_w),
    .wpr_i        (sc_wpr),
    .busy_o       (scan_busy),
    .pb_re_o      (pb_re),
    .pb_addr_o    (pb_raddr),
    .pb_data_i    (pb_rdata),
    .mr_req_o     (sm_req),
    .mr_buf_o     (sm_buf),
    .mr_addr_o    (sm_addr),
    .mr_gnt_i     (sm_gnt),
    .mr_data_i    (sm_rdata),
    .ev_valid_o   (ev_valid),
    .ev_ready_i   (ev_ready),
    .ev_o         (ev)
  );

  // the spike queue
  snn_fifo #(.WIDTH(EventW), .DEPTH(16)) u_queue (
    .clk_i       (clk),
    .rst_ni      (rst_n),
    .clear_i     (1'b0),
    .in_valid_i  (ev_valid),
    .in_ready_o  (ev_ready),
    .in_data_i   (ev),
    .out_valid_o (q_valid),
    .out_ready_i (q_ready),
    .out_data_o  (q_ev),
    .count_o     (queue_count)
  );

  logic             op_valid, op_eoj;
  logic [WAW-1:0]   op_w;
  logic [XAW-1:0]   op_a;
  logic [7:0]       op_val;
  logic [LANES-1:0] op_mask;

  snn_expand #(.LANES(LANES), .WAW(WAW), .XAW(XAW)) u_expand (
    .clk_i        (clk),
    .rst_ni       (rst_n),
    .start_i      (job_start),
    .conv_i       (jc.kind == KindConv),
    .h_i          (jc.in_h),
    .w_i          (jc.in_w),
    .hw_in_i      (jc.hw_in),
    .hw_out_i     (jc.hw_out),
    .grp_i        (jc.grp),
    .last_lanes_i (jc.last_lanes),
    .out_c_i      (jc.out_c),
    .w_base_i     (jc.w_base),
    .g9_i         (jc.g9),
    .ev_valid_i   (q_valid),
    .ev_ready_o   (q_ready),
    .ev_i         (q_ev),
    .op_valid_o   (op_valid),
    .op_eoj_o     (op_eoj),
    .op_w_o       (op_w),
    .op_a_o       (op_a),
    .op_val_o     (op_val),
    .op_mask_o    (op_mask),
    .synops_o     (job_synops)
  );

  // weights
  logic             w_re;
  logic [WAW-1:0]   w_raddr;
  logic [LANES*8-1:0] w_rdata;

  snn_ram #(.WIDTH(LANES * 8), .DEPTH(W_DEPTH)) u_weights (
    .clk_i (clk), .we_i (ld_w_we), .waddr_i (ld_w_addr), .wdata_i (ld_w_data),
    .re_i (w_re), .raddr_i (w_raddr), .rdata_o (w_rdata)
  );

  // accumulator banks: the accumulator owns the job's bank, the post side the other
  logic           xa_re, xa_bank, xa_we;
  logic [XAW-1:0] xa_raddr, xa_waddr;
  logic [LD-1:0]  xa_wdata;
  logic           pa_re, pa_bank, pa_we;
  logic [XAW-1:0] pa_raddr, pa_waddr;
  logic [LD-1:0]  acc_rdata [2];

  snn_accum #(.LANES(LANES), .WAW(WAW), .XAW(XAW)) u_accum (
    .clk_i      (clk),
    .rst_ni     (rst_n),
    .bank_i     (job_bank),
    .op_valid_i (op_valid),
    .op_eoj_i   (op_eoj),
    .op_w_i     (op_w),
    .op_a_i     (op_a),
    .op_val_i   (op_val),
    .op_mask_i  (op_mask),
    .w_re_o     (w_re),
    .w_addr_o   (w_raddr),
    .w_data_i   (w_rdata),
    .a_re_o     (xa_re),
    .a_bank_o   (xa_bank),
    .a_raddr_o  (xa_raddr),
    .a_rdata_i  (acc_rdata[job_bank]),
    .a_we_o     (xa_we),
    .a_waddr_o  (xa_waddr),
    .a_wdata_o  (xa_wdata),
    .done_o     (job_done)
  );

  for (genvar b = 0; b < 2; b++) begin : g_acc
    logic x_rd, x_wr;
    assign x_rd = xa_re && (xa_bank == 1'(b));
    assign x_wr = xa_we && (xa_bank == 1'(b));
    snn_ram #(.WIDTH(LD), .DEPTH(ACC_DEPTH)) u_acc (
      .clk_i   (clk),
      .we_i    (x_wr || (pa_we && pa_bank == 1'(b)) || clr_active_q),
      .waddr_i (x_wr ? xa_waddr : (clr_active_q ? clr_addr_q : pa_waddr)),
      .wdata_i (x_wr ? xa_wdata : '0),
      .re_i    (x_rd || (pa_re && pa_bank == 1'(b))),
      .raddr_i (x_rd ? xa_raddr : pa_raddr),
      .rdata_o (acc_rdata[b])
    );
  end

  // tokens: accumulate side -> post side
  snn_fifo #(.WIDTH(33), .DEPTH(4)) u_tokens (
    .clk_i       (clk),
    .rst_ni      (rst_n),
    .clear_i     (1'b0),
    .in_valid_i  (tok_valid),
    .in_ready_o  (tok_ready),
    .in_data_i   ({tok_bank, tok_synops}),
    .out_valid_o (ptok_valid),
    .out_ready_i (ptok_ready),
    .out_data_o  (ptok_data),
    .count_o     (tok_count)
  );

  // ---- post side --------------------------------------------------------------------------------
  logic           u_re, u_we, th_re, b_re;
  logic [XAW-1:0] u_raddr, u_waddr;
  logic [LD-1:0]  u_wdata, u_rdata, th_rdata, b_rdata;
  logic [LANES-1:0] pol_rdata;
  logic [TAW-1:0] th_raddr;
  logic [BAW-1:0] b_raddr;
  logic           wc_valid, wc_ready, wd_valid, wd_ready;
  logic [GA-1:0]  wc_addr;
  logic [23:0]    wc_words;
  logic [31:0]    wd_data;

  snn_ram #(.WIDTH(LD), .DEPTH(ACC_DEPTH)) u_membrane (
    .clk_i (clk), .we_i (u_we), .waddr_i (u_waddr), .wdata_i (u_wdata),
    .re_i (u_re), .raddr_i (u_raddr), .rdata_o (u_rdata)
  );

  for (genvar j = 0; j < LANES; j++) begin : g_lane
    snn_ram #(.WIDTH(32), .DEPTH(TH_DEPTH)) u_th (
      .clk_i (clk), .we_i (ld_th_we[j]), .waddr_i (ld_th_addr), .wdata_i (ld_th_data),
      .re_i (th_re), .raddr_i (th_raddr), .rdata_o (th_rdata[j*32 +: 32])
    );
    snn_ram #(.WIDTH(1), .DEPTH(TH_DEPTH)) u_pol (
      .clk_i (clk), .we_i (ld_pol_we[j]), .waddr_i (ld_th_addr), .wdata_i (ld_pol_data),
      .re_i (th_re), .raddr_i (th_raddr), .rdata_o (pol_rdata[j])
    );
    snn_ram #(.WIDTH(32), .DEPTH(B_DEPTH)) u_bias (
      .clk_i (clk), .we_i (ld_b_we[j]), .waddr_i (ld_b_addr), .wdata_i (ld_b_data),
      .re_i (b_re), .raddr_i (b_raddr), .rdata_o (b_rdata[j*32 +: 32])
    );
  end

  snn_post #(
    .LANES(LANES), .MAX_LAYERS(MAX_LAYERS), .MAX_CLASSES(MAX_CLASSES), .GA(GA),
    .XAW(XAW), .TAW(TAW), .BAW(BAW), .MAW(MAW)
  ) u_post (
    .clk_i         (clk),
    .rst_ni        (rst_n),
    .start_i       (go),
    .nofit_i       (nofit_q),
    .n_images_i    (n_images_q),
    .results_i     (results_q),
    .trace_i       (trace_q),
    .done_o        (post_done),
    .cfg_i         (cfg),
    .n_layers_i    (n_layers),
    .t_i           (n_t),
    .n_classes_i   (n_classes),
    .trace_step_i  (trace_step),
    .trace_words_i (trace_words),
    .rec_words_i   (rec_words),
    .tok_valid_i   (ptok_valid),
    .tok_ready_o   (ptok_ready),
    .tok_bank_i    (ptok_data[32]),
    .tok_synops_i  (ptok_data[31:0]),
    .free_o        (free),
    .free_bank_o   (free_bank),
    .groups_o      (groups),
    .a_re_o        (pa_re),
    .a_bank_o      (pa_bank),
    .a_raddr_o     (pa_raddr),
    .a_rdata_i     (acc_rdata[pa_bank]),
    .a_we_o        (pa_we),
    .a_waddr_o     (pa_waddr),
    .u_re_o        (u_re),
    .u_raddr_o     (u_raddr),
    .u_rdata_i     (u_rdata),
    .u_we_o        (u_we),
    .u_waddr_o     (u_waddr),
    .u_wdata_o     (u_wdata),
    .th_re_o       (th_re),
    .th_raddr_o    (th_raddr),
    .th_rdata_i    (th_rdata),
    .pol_rdata_i   (pol_rdata),
    .b_re_o        (b_re),
    .b_raddr_o     (b_raddr),
    .b_rdata_i     (b_rdata),
    .mw_we_o       (mw_we),
    .mw_buf_o      (mw_buf),
    .mw_addr_o     (mw_addr),
    .mw_data_o     (mw_data),
    .mr_req_o      (pm_req),
    .mr_buf_o      (pm_buf),
    .mr_addr_o     (pm_addr),
    .mr_data_i     (pm_rdata),
    .wc_valid_o    (wc_valid),
    .wc_ready_i    (wc_ready),
    .wc_addr_o     (wc_addr),
    .wc_words_o    (wc_words),
    .wd_valid_o    (wd_valid),
    .wd_ready_i    (wd_ready),
    .wd_data_o     (wd_data)
  );

  snn_axi_wr #(.GA(GA)) u_wr (
    .clk_i       (clk),
    .rst_ni      (rst_n),
    .cmd_valid_i (wc_valid),
    .cmd_ready_o (wc_ready),
    .cmd_addr_i  (wc_addr),
    .cmd_words_i (wc_words),
    .wd_valid_i  (wd_valid),
    .wd_ready_o  (wd_ready),
    .wd_data_i   (wd_data),
    .idle_o      (wr_idle),
    .awvalid_o   (m_axi_gmem_awvalid),
    .awready_i   (m_axi_gmem_awready),
    .awaddr_o    (m_axi_gmem_awaddr),
    .awlen_o     (m_axi_gmem_awlen),
    .wvalid_o    (m_axi_gmem_wvalid),
    .wready_i    (m_axi_gmem_wready),
    .wdata_o     (m_axi_gmem_wdata),
    .wstrb_o     (m_axi_gmem_wstrb),
    .wlast_o     (m_axi_gmem_wlast),
    .bvalid_i    (m_axi_gmem_bvalid),
    .bready_o    (m_axi_gmem_bready)
  );

  // Responses are not checked (docs/rtl.md); rlast is implied by the burst length.
  logic unused_axi;
  assign unused_axi = ^{m_axi_gmem_rlast, m_axi_gmem_rresp, m_axi_gmem_bresp, model_q};
  // Status signals kept for waveforms.
  logic unused_status;
  assign unused_status = ^{scan_busy, queue_count, tok_count};

endmodule
