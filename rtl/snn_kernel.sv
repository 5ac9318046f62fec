// snn_kernel - the RTL kernel, an event-driven layer pipeline (docs/rtl.md):
// a Vitis RTL kernel (ap_ctrl_hs register map of include/snn-regmap.h on
// s_axi_control, one AXI4 master m_axi_gmem), the same ports and registers as
// the HLS kernel (hls/snn_kernel.c), plus the flags register:
//
//   snn_pipe_loader: deploy image -> stage memories, layer -> stage mapping
//   snn_pipe_fetch:  images -> map 0 (8-bit pixels per (y, x))
//   map 0 -> stage 0 (conv, image input) -> map 1 -> stage 1 (conv) -> map 2
//         -> stage 2 (conv) -> map 3 (flat) -> stage 3 (fc) -> map 4 -> stage 4 (out)
//   snn_pipe_record: sums, arg-max, counters -> result records
//
// Every map is a ping-pong snn_spike_map: image n of the kernel's life lives
// in half n[0] with tag n[1] in every map, so a unit may start image n when
// its input half holds it and its output half is free; in steady state the
// kernel finishes one image per interval of its slowest stage. A conv stage
// takes image n + 1 while the last pixels of image n finish (its
// start_ready_o, once it has read image n's last patch): its reads and writes
// carry their image's half and tag. The per-image
// counters of each stage wait in a small queue until the output stage
// finishes that image.
//
// Trace mode (trace != 0): one image at a time, its record then its spike
// trace (snn_pipe_trace).
// The model stays loaded between runs (SNN_FLAG_RELOAD, include/snn-regmap.h).
`default_nettype none

module snn_kernel #(
  parameter int unsigned C_S_AXI_CONTROL_ADDR_WIDTH = 7,
  parameter int unsigned C_M_AXI_GMEM_ADDR_WIDTH = 64,
  parameter int unsigned C_M_AXI_GMEM_DATA_WIDTH = 64,
  parameter int unsigned TM     = 4,      // time steps (maximum)
  // stages: channels in / out, map maxima, engines
  parameter int unsigned C0_CIN = 1,  parameter int unsigned C0_COUT = 32,
  parameter int unsigned C0_H   = 28, parameter int unsigned C0_W    = 28,
  parameter int unsigned C0_E   = 2,
  parameter int unsigned C1_COUT = 32,
  parameter int unsigned C1_H   = 28, parameter int unsigned C1_W    = 28,
  parameter int unsigned C1_E   = 18,
  parameter int unsigned C2_COUT = 64,
  parameter int unsigned C2_H   = 14, parameter int unsigned C2_W    = 14,
  parameter int unsigned C2_E   = 5,
  parameter int unsigned F_HW   = 49,     // fc input pixels (maximum)
  parameter int unsigned F_COUT = 128,
  parameter int unsigned F_FCH  = 128,    // fc outputs per weight RAM slice
  parameter int unsigned O_COUT = 64,     // classes (maximum)
  // conv stages whose LIF unit is step-serial (bit s: stage s; snn_lif_serial,
  // one pixel per T + 1 cycles): stage 2, after two pools, has a quarter of
  // the pixels of the stages before it and a pixel per tens of cycles
  parameter bit [2:0]    LIF_SERIAL = 3'b100,
  // conv stages whose engines keep their accumulators in DSP48E2 slices
  // (bit s: stage s; two per slice, snn_dsp_acc2): the spiking stages
  parameter bit [2:0]    ACC_DSP = 3'b110
) (
  input  wire                                    ap_clk,
  input  wire                                    ap_rst_n,
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

  localparam int unsigned GA = C_M_AXI_GMEM_ADDR_WIDTH;
  // the channels of a map are its producer's outputs
  localparam int unsigned C1_CIN = C0_COUT, C2_CIN = C1_COUT, F_CIN = C2_COUT;
  localparam int unsigned W0 = C0_CIN * 8, W1 = C0_COUT * TM, W2 = C1_COUT * TM,
                          W3 = C2_COUT * TM, W4 = F_COUT * TM;
  // map coordinate widths (each map's own maxima)
  localparam int unsigned Y0 = $clog2(C0_H + 1), X0 = $clog2(C0_W + 1);
  localparam int unsigned Y1 = $clog2(C1_H + 1), X1 = $clog2(C1_W + 1);
  localparam int unsigned Y2 = $clog2(C2_H + 1), X2 = $clog2(C2_W + 1);
  localparam int unsigned X3 = $clog2(F_HW + 1);
  localparam int unsigned PW0 = $clog2(C0_H * C0_W + 1), PW1 = $clog2(C1_H * C1_W + 1),
                          PW2 = $clog2(C2_H * C2_W + 1);
  localparam int unsigned POL_N0 = C0_COUT * C0_H * C0_W, POL_N1 = C1_COUT * C1_H * C1_W,
                          POL_N2 = C2_COUT * C2_H * C2_W;
  localparam int unsigned POL_N = (POL_N0 > POL_N1 ? (POL_N0 > POL_N2 ? POL_N0 : POL_N2)
                                                   : (POL_N1 > POL_N2 ? POL_N1 : POL_N2));
  localparam int unsigned ROW_W = 8 * ((F_COUT > C2_COUT ? F_COUT : C2_COUT) > O_COUT ?
                                       (F_COUT > C2_COUT ? F_COUT : C2_COUT) : O_COUT);
  localparam int unsigned QD = 16;        // counter queue depth per stage
  // Accumulator bits of each stage: the widest sum its inputs can form, so
  // that no weights can overflow it. A sum of n int8 weights times inputs of
  // at most pmax lies in [-n*pmax*128, n*pmax*127]: $clog2(n*pmax*128) + 1
  // bits (stage 0: 9*C0_CIN taps of 8-bit pixels; the spiking stages: 9*CIN
  // taps, fc: its inputs, out: the fc outputs). The LIF units add the bias in
  // 32 bits. Card: 20 / 17 / 17 / 20 / 15 bits.
  function automatic int unsigned acc_bits(input int unsigned n, input int unsigned pmax);
    acc_bits = $clog2(n * pmax * 128) + 1;
  endfunction
  localparam int unsigned ACC0 = acc_bits(9 * C0_CIN, 255), ACC1 = acc_bits(9 * C1_CIN, 1),
                          ACC2 = acc_bits(9 * C2_CIN, 1), ACCF = acc_bits(F_CIN * F_HW, 1),
                          ACCO = acc_bits(F_COUT, 1);

`ifndef SYNTHESIS
  initial begin
    if (C_M_AXI_GMEM_DATA_WIDTH != 64) $fatal(1, "snn_kernel: only a 64-bit m_axi_gmem is supported");
    if (TM < 1 || TM > 16) $fatal(1, "snn_kernel: TM must be 1..16");
    if (C0_COUT > ROW_W / 8 || C1_COUT > ROW_W / 8) $fatal(1, "snn_kernel: row width");
  end
`endif

  logic clk, rst_n;
  assign clk   = ap_clk;
  assign rst_n = ap_rst_n;

  // ---- control ---------------------------------------------------------------------------
  logic        ctrl_start, run_done;
  logic [63:0] arg_model, arg_images, arg_results, arg_trace;
  logic [31:0] arg_n_images, arg_flags;

  snn_ctrl #(.ADDR_W(C_S_AXI_CONTROL_ADDR_WIDTH)) u_ctrl (
    .clk_i(clk), .rst_ni(rst_n),
    .awvalid_i(s_axi_control_awvalid), .awready_o(s_axi_control_awready),
    .awaddr_i(s_axi_control_awaddr), .wvalid_i(s_axi_control_wvalid),
    .wready_o(s_axi_control_wready), .wdata_i(s_axi_control_wdata),
    .wstrb_i(s_axi_control_wstrb), .bvalid_o(s_axi_control_bvalid),
    .bready_i(s_axi_control_bready), .bresp_o(s_axi_control_bresp),
    .arvalid_i(s_axi_control_arvalid), .arready_o(s_axi_control_arready),
    .araddr_i(s_axi_control_araddr), .rvalid_o(s_axi_control_rvalid),
    .rready_i(s_axi_control_rready), .rdata_o(s_axi_control_rdata),
    .rresp_o(s_axi_control_rresp),
    .start_o(ctrl_start), .done_i(run_done),
    .model_o(arg_model), .images_o(arg_images), .results_o(arg_results),
    .trace_o(arg_trace), .n_images_o(arg_n_images), .flags_o(arg_flags),
    .interrupt_o(interrupt)
  );

  logic unused_args;
  assign unused_args = ^{arg_flags[31:1], m_axi_gmem_rlast, m_axi_gmem_rresp, m_axi_gmem_bresp};

  // ---- run sequence ----------------------------------------------------------------------
  typedef enum logic [2:0] { R_IDLE, R_LOAD, R_RUN, R_FINISH, R_DONE } run_e;
  run_e run_q;
  logic [31:0]   n_q;
  logic          ld_start, ld_done, ld_busy;
  logic          wr_idle;
  logic [4:0]    map_init;         // the maps' one-time tag initialisation is over
  logic          ld_done_q;        // the loader finished this run's load
  logic [31:0]   n_rec_q;          // records captured this run
  logic          rec_ready;
  logic          trace_on_q;       // this run writes a trace: one image at a time
  logic [31:0]   n_tr_q;           // traces written this run
  logic          tr_busy;

  // The model stays on chip between runs: it is loaded when nothing is
  // loaded, the model address changed, the last load found it not fitting
  // (the stage memories hold a partial load), or the host sets
  // SNN_FLAG_RELOAD (it rewrote the buffer in place).
  logic          loaded_q;
  logic [GA-1:0] loaded_model_q;
  wire need_load = !loaded_q || arg_model != loaded_model_q || arg_flags[0];
  assign ld_start = run_q == R_IDLE && ctrl_start && arg_n_images != 0 && need_load;
  assign run_done = run_q == R_DONE;

  always_ff @(posedge clk) begin
    if (!rst_n) loaded_q <= 1'b0;
    else if (ld_start) begin
      loaded_q       <= 1'b0;
      loaded_model_q <= arg_model;
    end else if (ld_done) loaded_q <= !nofit;
  end

  always_ff @(posedge clk) begin
    if (!rst_n) ld_done_q <= 1'b0;
    else if (run_q == R_IDLE) ld_done_q <= 1'b0;
    else if (ld_done) ld_done_q <= 1'b1;
  end

  always_ff @(posedge clk) begin
    if (!rst_n) run_q <= R_IDLE;
    else begin
      case (run_q)
        R_IDLE: if (ctrl_start) begin
          n_q       <= arg_n_images;
          trace_on_q <= arg_trace != 0;
          run_q     <= (arg_n_images == 0) ? R_FINISH : need_load ? R_LOAD : R_RUN;
        end
        R_LOAD:   if (ld_done_q && &map_init) run_q <= R_RUN;
        R_RUN:    if (n_rec_q == n_q && (!trace_on_q || n_tr_q == n_q)) run_q <= R_FINISH;
        R_FINISH: if (wr_idle && rec_ready && !tr_busy) run_q <= R_DONE;
        R_DONE:   run_q <= R_IDLE;
        default:  run_q <= R_IDLE;
      endcase
    end
  end
  wire running = run_q == R_RUN;

  // ---- loader ----------------------------------------------------------------------------
  logic               ld_cmd_valid, ld_cmd_ready, ld_dat_ready;
  logic [GA-1:0]      ld_cmd_addr;
  logic [23:0]        ld_cmd_beats;
  logic [2:0]         ld_st, ld_t_st;   // stage of weight rows / biases, of thresholds
  logic               ld_w_en, ld_b_en, ld_t_en, ld_t_pol;
  // (the loader's buses are 16 / 32 bits wide; each stage takes the bits
  // its maxima need, and the fc map's pixel count is narrower still)
  /* verilator lint_off UNUSEDSIGNAL */
  logic [31:0]        ld_w_row, ld_b_data, ld_t_pix, ld_t_th;
  logic [ROW_W-1:0]   ld_w_data;
  logic [15:0]        ld_b_ch, ld_t_ch;
  logic               nofit;
  logic [4:0]         cfg_t, cfg_layers;
  logic [6:0]         cfg_k;
  logic [15:0]        cfg_in_c, cfg_in_h, cfg_in_w, cfg_f_hw, cfg_f_cout;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [31:0]        cfg_px;
  logic [47:0]        cfg_w, cfg_hw, cfg_cout, cfg_oh, cfg_ow;
  logic [2:0]         cfg_pool;
  logic [24:0]        cfg_layer_of, cfg_pool_of;
  logic [255:0]       cfg_lay_c, cfg_lay_h, cfg_lay_w;
  logic [47:0]        cfg_lay_stage;
  logic [15:0]        cfg_lay_pool;
  logic               rd_dat_valid;
  logic [63:0]        rd_dat;

  snn_pipe_loader #(
    .GA(GA), .TM(TM),
    .C0_CIN(C0_CIN), .C0_COUT(C0_COUT), .C0_H(C0_H), .C0_W(C0_W),
    .C1_CIN(C1_CIN), .C1_COUT(C1_COUT), .C1_H(C1_H), .C1_W(C1_W),
    .C2_CIN(C2_CIN), .C2_COUT(C2_COUT), .C2_H(C2_H), .C2_W(C2_W),
    .F_CIN(F_CIN), .F_HW(F_HW), .F_COUT(F_COUT), .O_COUT(O_COUT),
    .ROW_W(ROW_W), .POL_N(POL_N)
  ) u_loader (
    .clk_i(clk), .rst_ni(rst_n),
    .start_i(ld_start), .model_i(arg_model), .busy_o(ld_busy), .done_o(ld_done),
    .cmd_valid_o(ld_cmd_valid), .cmd_ready_i(ld_cmd_ready), .cmd_addr_o(ld_cmd_addr),
    .cmd_beats_o(ld_cmd_beats), .dat_valid_i(rd_dat_valid && run_q == R_LOAD),
    .dat_ready_o(ld_dat_ready), .dat_i(rd_dat),
    .st_o(ld_st), .w_en_o(ld_w_en), .w_row_o(ld_w_row), .w_data_o(ld_w_data),
    .b_en_o(ld_b_en), .b_ch_o(ld_b_ch), .b_data_o(ld_b_data),
    .t_st_o(ld_t_st), .t_en_o(ld_t_en), .t_ch_o(ld_t_ch), .t_pix_o(ld_t_pix), .t_th_o(ld_t_th), .t_pol_o(ld_t_pol),
    .nofit_o(nofit), .t_steps_o(cfg_t), .n_classes_o(cfg_k), .n_layers_o(cfg_layers),
    .in_c_o(cfg_in_c), .in_h_o(cfg_in_h), .in_w_o(cfg_in_w), .px_bytes_o(cfg_px),
    .c_h_o(), .c_w_o(cfg_w), .c_hw_o(cfg_hw), .c_cout_o(cfg_cout), .c_oh_o(cfg_oh),
    .c_ow_o(cfg_ow), .c_pool_o(cfg_pool), .f_hw_o(cfg_f_hw), .f_cout_o(cfg_f_cout),
    .layer_of_o(cfg_layer_of), .pool_of_o(cfg_pool_of),
    .lay_c_o(cfg_lay_c), .lay_h_o(cfg_lay_h), .lay_w_o(cfg_lay_w), .lay_stage_o(cfg_lay_stage),
    .lay_pool_o(cfg_lay_pool)
  );

  logic unused_cfg;
  assign unused_cfg = ^{ld_busy, cfg_in_c, cfg_f_cout};

  // ---- read side: the loader while loading, the pixel fetch while running ----------------
  logic          fe_cmd_valid, fe_dat_ready;
  logic [GA-1:0] fe_cmd_addr;
  logic [23:0]   fe_cmd_beats;
  logic          rd_cmd_ready;
  wire           rd_sel_fetch = run_q == R_RUN;

  snn_axi_rd #(.GA(GA)) u_rd (
    .clk_i(clk), .rst_ni(rst_n),
    .cmd_valid_i(rd_sel_fetch ? fe_cmd_valid : ld_cmd_valid),
    .cmd_ready_o(rd_cmd_ready),
    .cmd_addr_i(rd_sel_fetch ? fe_cmd_addr : ld_cmd_addr),
    .cmd_beats_i(rd_sel_fetch ? fe_cmd_beats : ld_cmd_beats),
    .dat_valid_o(rd_dat_valid),
    .dat_ready_i(rd_sel_fetch ? fe_dat_ready : ld_dat_ready),
    .dat_data_o(rd_dat),
    .arvalid_o(m_axi_gmem_arvalid), .arready_i(m_axi_gmem_arready),
    .araddr_o(m_axi_gmem_araddr), .arlen_o(m_axi_gmem_arlen),
    .rvalid_i(m_axi_gmem_rvalid), .rready_o(m_axi_gmem_rready), .rdata_i(m_axi_gmem_rdata)
  );
  assign ld_cmd_ready = !rd_sel_fetch && rd_cmd_ready;

  // ---- ping-pong bookkeeping ---------------------------------------------------------------
  // Units: 0 fetch, 1..5 stages 0..4. Unit u produces map u (u < 5) and
  // consumes map u-1. seq_q[u] is the kernel-lifetime number of its oldest
  // image in flight (or of its next one when idle), sst_q[u] that of the
  // next image it starts: half seq[0], tag seq[1]. The conv stages (units
  // 1..3) may hold two images, the other units one.
  localparam int unsigned NU = 6;
  logic [31:0] seq_q   [NU];
  logic [31:0] sst_q   [NU];
  logic [31:0] cnt_q   [NU];           // images started this run
  logic [1:0]  nact_q  [NU];           // images in flight
  logic [NU-1:0] two_ok;               // the unit takes a second image now (conv: start_ready_o)
  logic [NU-1:0] go;                   // start pulse (registered below)
  logic [NU-1:0] fin;                  // done pulse of the unit
  logic [1:0]  full_q [5];             // map m, half h holds an image for its consumer
  logic [3:0]  pend_q [5][2];          // map m, half h: written, commit pending (countdown)
  logic        cur_half [NU], cur_tag [NU];
  logic        out_full_q;             // the output stage holds a result not yet captured

  always_comb
    for (int u = 0; u < int'(NU); u++) begin
      cur_half[u] = seq_q[u][0];
      cur_tag[u]  = seq_q[u][1];
    end

  // may unit u start now? (image sst_q[u]: its input half is full, its
  // output half free)
  logic [NU-1:0] can;
  always_comb begin
    for (int u = 0; u < int'(NU); u++) begin
      logic in_ok, out_ok, room;
      logic h;
      h = sst_q[u][0];
      in_ok  = (u == 0) ? 1'b1 : full_q[u-1][h];
      if (u < 5) out_ok = !full_q[u][h] && pend_q[u][h] == 0;
      else       out_ok = !out_full_q;
      room   = nact_q[u] == 2'd0 || (nact_q[u] == 2'd1 && two_ok[u]);
      can[u] = running && !nofit && room && !go[u] && cnt_q[u] < n_q && in_ok && out_ok;
      // trace mode: an image enters only when the one before it is traced
      if (u == 0 && trace_on_q && (n_tr_q != cnt_q[0] || tr_busy)) can[u] = 1'b0;
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      for (int u = 0; u < int'(NU); u++) begin
        seq_q[u]  <= '0;
        sst_q[u]  <= '0;
        nact_q[u] <= '0;
      end
      go    <= '0;
      for (int m = 0; m < 5; m++) begin
        full_q[m] <= '0;
        pend_q[m][0] <= '0;
        pend_q[m][1] <= '0;
      end
    end else begin
      go <= can;
      if (run_q == R_IDLE && ctrl_start)
        for (int u = 0; u < int'(NU); u++) cnt_q[u] <= '0;
      for (int u = 0; u < int'(NU); u++) begin
        nact_q[u] <= nact_q[u] + 2'(go[u]) - 2'(fin[u]);
        if (go[u]) begin
          sst_q[u] <= sst_q[u] + 1'b1;
          cnt_q[u] <= cnt_q[u] + 1'b1;
        end
        if (fin[u]) begin
          seq_q[u] <= seq_q[u] + 1'b1;
          if (u > 0) full_q[u-1][cur_half[u]] <= 1'b0;   // input half free
          if (u < 5) pend_q[u][cur_half[u]] <= 4'd4;      // output half: after the commit
        end
      end
      for (int m = 0; m < 5; m++)
        for (int h = 0; h < 2; h++)
          if (pend_q[m][h] != 0) begin
            pend_q[m][h] <= pend_q[m][h] - 1'b1;
            if (pend_q[m][h] == 4'd1) full_q[m][h] <= 1'b1;
          end
    end
  end

  // ---- pixel fetch into map 0 ---------------------------------------------------------------
  logic [GA-1:0]     img_addr_q;
  logic              m0_wv;
  logic [Y0-1:0]     m0_wy;
  logic [X0-1:0]     m0_wx;
  logic [W0-1:0]     m0_wd;
  logic              fe_busy;

  always_ff @(posedge clk) begin
    if (run_q == R_IDLE && ctrl_start) img_addr_q <= arg_images;
    else if (go[0]) img_addr_q <= img_addr_q + GA'(cfg_px);
  end

  snn_pipe_fetch #(.GA(GA), .CIN(C0_CIN), .YW(Y0), .XW(X0)) u_fetch (
    .clk_i(clk), .rst_ni(rst_n),
    .start_i(go[0]), .addr_i(img_addr_q), .bytes_i(cfg_px), .in_h_i(cfg_in_h), .in_w_i(cfg_in_w),
    .busy_o(fe_busy), .done_o(fin[0]),
    .cmd_valid_o(fe_cmd_valid), .cmd_ready_i(rd_sel_fetch && rd_cmd_ready),
    .cmd_addr_o(fe_cmd_addr), .cmd_beats_o(fe_cmd_beats),
    .dat_valid_i(rd_dat_valid && rd_sel_fetch), .dat_ready_o(fe_dat_ready), .dat_i(rd_dat),
    .wr_valid_o(m0_wv), .wr_y_o(m0_wy), .wr_x_o(m0_wx), .wr_data_o(m0_wd)
  );

  logic unused_fe;
  assign unused_fe = fe_busy;

  // ---- maps ------------------------------------------------------------------------------------
  // map 0: image (banked)
  logic               m0_rv;
  logic [Y0-1:0]      m0_ry;
  logic [X0-1:0]      m0_rx;
  logic [9*W0-1:0]    m0_patch;
  snn_spike_map #(.WORD_W(W0), .MAX_H(C0_H), .MAX_W(C0_W), .BANKED(1), .INIT(1)) u_map0 (
    .clk_i(clk), .rst_ni(rst_n), .h_i(Y0'(cfg_in_h)), .w_i(X0'(cfg_in_w)),
    .wr_valid_i(m0_wv), .wr_half_i(cur_half[0]), .wr_y_i(m0_wy), .wr_x_i(m0_wx),
    .wr_data_i(m0_wd), .wr_or_i(1'b1), .wr_tag_i(cur_tag[0]),
    .wr_newbits_valid_o(), .wr_newbits_o(), .init_i(ld_start), .init_done_o(map_init[0]),
    .rd_valid_i(m0_rv), .rd_half_i(s_rimg[0][0]), .rd_tag_i(s_rimg[0][1]),
    .rd_y_i(m0_ry), .rd_x_i(m0_rx), .rd_valid_o(), .rd_patch_o(m0_patch), .rd_word_o()
  );

  // stage outputs into maps 1, 2 (banked) and 3 (flat)
  logic               s_wv [3], s_wor [3], s_nbv [3];
  logic [1:0]         s_rimg [3], s_wimg [3];   // {tag, half} of a conv stage's read / write
  logic [1:0]         s_img [3];                // {tag, half} of the image a conv stage starts
  logic [2:0]         s_rdy;
  always_comb
    for (int s = 0; s < 3; s++) s_img[s] = {sst_q[s + 1][1], sst_q[s + 1][0]};
  assign two_ok = {2'b00, s_rdy, 1'b0};
  logic [15:0]        s_wy [3], s_wx [3];
  logic [31:0]        s_nb [3];
  logic [31:0]        s_ev [5], s_syn [5], s_spk [5], s_pspk [5];

  logic               m1_rv, m2_rv;
  logic [Y1-1:0]      m1_ry;  logic [X1-1:0] m1_rx;
  logic [Y2-1:0]      m2_ry;  logic [X2-1:0] m2_rx;
  logic [9*W1-1:0]    m1_patch;
  logic [9*W2-1:0]    m2_patch;
  logic [W1-1:0]      s0_wd;
  logic [W2-1:0]      s1_wd;
  logic [W3-1:0]      s2_wd;
  logic [$clog2(W1+1)-1:0] m1_nb;
  logic [$clog2(W2+1)-1:0] m2_nb;
  logic [$clog2(W3+1)-1:0] m3_nb;

  snn_spike_map #(.WORD_W(W1), .MAX_H(C1_H), .MAX_W(C1_W), .BANKED(1), .INIT(1)) u_map1 (
    .clk_i(clk), .rst_ni(rst_n), .h_i(Y1'(cfg_oh[0 +: 16])), .w_i(X1'(cfg_ow[0 +: 16])),
    .wr_valid_i(s_wv[0]), .wr_half_i(s_wimg[0][0]), .wr_y_i(Y1'(s_wy[0])), .wr_x_i(X1'(s_wx[0])),
    .wr_data_i(s0_wd), .wr_or_i(s_wor[0]), .wr_tag_i(s_wimg[0][1]),
    .wr_newbits_valid_o(s_nbv[0]), .wr_newbits_o(m1_nb), .init_i(ld_start), .init_done_o(map_init[1]),
    .rd_valid_i(m1_rv), .rd_half_i(s_rimg[1][0]), .rd_tag_i(s_rimg[1][1]),
    .rd_y_i(m1_ry), .rd_x_i(m1_rx), .rd_valid_o(), .rd_patch_o(m1_patch), .rd_word_o()
  );
  snn_spike_map #(.WORD_W(W2), .MAX_H(C2_H), .MAX_W(C2_W), .BANKED(1), .INIT(1)) u_map2 (
    .clk_i(clk), .rst_ni(rst_n), .h_i(Y2'(cfg_oh[16 +: 16])), .w_i(X2'(cfg_ow[16 +: 16])),
    .wr_valid_i(s_wv[1]), .wr_half_i(s_wimg[1][0]), .wr_y_i(Y2'(s_wy[1])), .wr_x_i(X2'(s_wx[1])),
    .wr_data_i(s1_wd), .wr_or_i(s_wor[1]), .wr_tag_i(s_wimg[1][1]),
    .wr_newbits_valid_o(s_nbv[1]), .wr_newbits_o(m2_nb), .init_i(ld_start), .init_done_o(map_init[2]),
    .rd_valid_i(m2_rv), .rd_half_i(s_rimg[2][0]), .rd_tag_i(s_rimg[2][1]),
    .rd_y_i(m2_ry), .rd_x_i(m2_rx), .rd_valid_o(), .rd_patch_o(m2_patch), .rd_word_o()
  );

  // map 3: one row of f_hw words; stage 2 writes (y, x) of its (pooled) output at y*ow + x
  logic               m3_rv;
  logic [X3-1:0]      m3_rpix;
  logic [W3-1:0]      m3_word;
  logic [X3-1:0]      m3_wx;
  assign m3_wx = X3'(32'(s_wy[2]) * 32'(cfg_ow[32 +: 16]) + 32'(s_wx[2]));
  snn_spike_map #(.WORD_W(W3), .MAX_H(1), .MAX_W(F_HW), .BANKED(0), .INIT(1)) u_map3 (
    .clk_i(clk), .rst_ni(rst_n), .h_i(1'b1), .w_i(X3'(cfg_f_hw)),
    .wr_valid_i(s_wv[2]), .wr_half_i(s_wimg[2][0]), .wr_y_i(1'b0), .wr_x_i(m3_wx),
    .wr_data_i(s2_wd), .wr_or_i(s_wor[2]), .wr_tag_i(s_wimg[2][1]),
    .wr_newbits_valid_o(s_nbv[2]), .wr_newbits_o(m3_nb), .init_i(ld_start), .init_done_o(map_init[3]),
    .rd_valid_i(m3_rv), .rd_half_i(cur_half[4]), .rd_tag_i(cur_tag[4]),
    .rd_y_i(1'b0), .rd_x_i(m3_rpix), .rd_valid_o(), .rd_patch_o(), .rd_word_o(m3_word)
  );
  assign s_nb[0] = 32'(m1_nb);
  assign s_nb[1] = 32'(m2_nb);
  assign s_nb[2] = 32'(m3_nb);

  // map 4: the fc stage's one output word
  logic               f_wv, m4_rv;
  logic [W4-1:0]      f_wd, m4_word;
  logic               m4_rpix;
  snn_spike_map #(.WORD_W(W4), .MAX_H(1), .MAX_W(1), .BANKED(0), .INIT(1)) u_map4 (
    .clk_i(clk), .rst_ni(rst_n), .h_i(1'b1), .w_i(1'b1),
    .wr_valid_i(f_wv), .wr_half_i(cur_half[4]), .wr_y_i(1'b0), .wr_x_i(1'b0),
    .wr_data_i(f_wd), .wr_or_i(1'b0), .wr_tag_i(cur_tag[4]),
    .wr_newbits_valid_o(), .wr_newbits_o(), .init_i(ld_start), .init_done_o(map_init[4]),
    .rd_valid_i(m4_rv), .rd_half_i(cur_half[5]), .rd_tag_i(cur_tag[5]),
    .rd_y_i(1'b0), .rd_x_i(m4_rpix), .rd_valid_o(), .rd_patch_o(), .rd_word_o(m4_word)
  );

  // ---- conv stages -----------------------------------------------------------------------------
  logic [2:0]       tr_v;
  logic [PW0-1:0]   tr0_pix;
  logic [PW1-1:0]   tr1_pix;
  logic [PW2-1:0]   tr2_pix;
  logic [W1-1:0]    tr0_data;
  logic [W2-1:0]    tr1_data;
  logic [W3-1:0]    tr2_data;
  // stage 0: image input
  logic [Y0-1:0] s0_wy;  logic [X0-1:0] s0_wx;
  snn_conv_stage #(
    .CIN(C0_CIN), .COUT(C0_COUT), .TM(TM), .IMG(1), .E(C0_E), .ACC_W(ACC0),
    .MAX_H(C0_H), .MAX_W(C0_W), .LIF_SERIAL(int'(LIF_SERIAL[0])),
    .ACC_DSP(int'(ACC_DSP[0]))
  ) u_s0 (
    .clk_i(clk), .rst_ni(rst_n),
    .w_i(X0'(cfg_w[0 +: 16])), .hw_i(PW0'(cfg_hw[0 +: 16])),
    .cout_i($clog2(C0_COUT+1)'(cfg_cout[0 +: 16])), .t_steps_i(cfg_t), .pool_i(cfg_pool[0]),
    .out_h_i(Y0'(cfg_oh[0 +: 16])), .out_w_i(X0'(cfg_ow[0 +: 16])),
    .wl_en_i(ld_w_en && ld_st == 3'd0), .wl_row_i($clog2(9*C0_CIN)'(ld_w_row)),
    .wl_data_i(ld_w_data[C0_COUT*8-1:0]),
    .tl_en_i(ld_t_en && ld_t_st == 3'd0), .tl_ch_i($clog2(C0_COUT)'(ld_t_ch)),
    .tl_pix_i(PW0'(ld_t_pix)), .tl_th_i(ld_t_th), .tl_pol_i(ld_t_pol),
    .bl_en_i(ld_b_en && ld_st == 3'd0), .bl_ch_i($clog2(C0_COUT)'(ld_b_ch)), .bl_data_i(ld_b_data),
    .start_i(go[1]), .in_img_i(s_img[0]), .out_img_i(s_img[0]), .start_ready_o(s_rdy[0]),
    .busy_o(), .done_o(fin[1]),
    .events_o(s_ev[0]), .synops_o(s_syn[0]), .spikes_o(s_spk[0]), .pool_spikes_o(s_pspk[0]),
    .rd_valid_o(m0_rv), .rd_y_o(m0_ry), .rd_x_o(m0_rx), .rd_img_o(s_rimg[0]), .rd_patch_i(m0_patch),
    .wr_valid_o(s_wv[0]), .wr_y_o(s0_wy), .wr_x_o(s0_wx), .wr_data_o(s0_wd), .wr_or_o(s_wor[0]),
    .wr_img_o(s_wimg[0]),
    .wr_newbits_valid_i(s_nbv[0]), .wr_newbits_i($clog2(W1+1)'(s_nb[0])),
    .tr_valid_o(tr_v[0]), .tr_pix_o(tr0_pix), .tr_data_o(tr0_data)
  );
  assign s_wy[0] = 16'(s0_wy);
  assign s_wx[0] = 16'(s0_wx);

  logic [Y1-1:0] s1_wy;  logic [X1-1:0] s1_wx;
  snn_conv_stage #(
    .CIN(C1_CIN), .COUT(C1_COUT), .TM(TM), .IMG(0), .E(C1_E), .ACC_W(ACC1),
    .MAX_H(C1_H), .MAX_W(C1_W), .LIF_SERIAL(int'(LIF_SERIAL[1])),
    .ACC_DSP(int'(ACC_DSP[1]))
  ) u_s1 (
    .clk_i(clk), .rst_ni(rst_n),
    .w_i(X1'(cfg_w[16 +: 16])), .hw_i(PW1'(cfg_hw[16 +: 16])),
    .cout_i($clog2(C1_COUT+1)'(cfg_cout[16 +: 16])), .t_steps_i(cfg_t), .pool_i(cfg_pool[1]),
    .out_h_i(Y1'(cfg_oh[16 +: 16])), .out_w_i(X1'(cfg_ow[16 +: 16])),
    .wl_en_i(ld_w_en && ld_st == 3'd1), .wl_row_i($clog2(9*C1_CIN)'(ld_w_row)),
    .wl_data_i(ld_w_data[C1_COUT*8-1:0]),
    .tl_en_i(ld_t_en && ld_t_st == 3'd1), .tl_ch_i($clog2(C1_COUT)'(ld_t_ch)),
    .tl_pix_i(PW1'(ld_t_pix)), .tl_th_i(ld_t_th), .tl_pol_i(ld_t_pol),
    .bl_en_i(ld_b_en && ld_st == 3'd1), .bl_ch_i($clog2(C1_COUT)'(ld_b_ch)), .bl_data_i(ld_b_data),
    .start_i(go[2]), .in_img_i(s_img[1]), .out_img_i(s_img[1]), .start_ready_o(s_rdy[1]),
    .busy_o(), .done_o(fin[2]),
    .events_o(s_ev[1]), .synops_o(s_syn[1]), .spikes_o(s_spk[1]), .pool_spikes_o(s_pspk[1]),
    .rd_valid_o(m1_rv), .rd_y_o(m1_ry), .rd_x_o(m1_rx), .rd_img_o(s_rimg[1]), .rd_patch_i(m1_patch),
    .wr_valid_o(s_wv[1]), .wr_y_o(s1_wy), .wr_x_o(s1_wx), .wr_data_o(s1_wd), .wr_or_o(s_wor[1]),
    .wr_img_o(s_wimg[1]),
    .wr_newbits_valid_i(s_nbv[1]), .wr_newbits_i($clog2(W2+1)'(s_nb[1])),
    .tr_valid_o(tr_v[1]), .tr_pix_o(tr1_pix), .tr_data_o(tr1_data)
  );
  assign s_wy[1] = 16'(s1_wy);
  assign s_wx[1] = 16'(s1_wx);

  logic [Y2-1:0] s2_wy;  logic [X2-1:0] s2_wx;
  snn_conv_stage #(
    .CIN(C2_CIN), .COUT(C2_COUT), .TM(TM), .IMG(0), .E(C2_E), .ACC_W(ACC2),
    .MAX_H(C2_H), .MAX_W(C2_W), .LIF_SERIAL(int'(LIF_SERIAL[2])),
    .ACC_DSP(int'(ACC_DSP[2]))
  ) u_s2 (
    .clk_i(clk), .rst_ni(rst_n),
    .w_i(X2'(cfg_w[32 +: 16])), .hw_i(PW2'(cfg_hw[32 +: 16])),
    .cout_i($clog2(C2_COUT+1)'(cfg_cout[32 +: 16])), .t_steps_i(cfg_t), .pool_i(cfg_pool[2]),
    .out_h_i(Y2'(cfg_oh[32 +: 16])), .out_w_i(X2'(cfg_ow[32 +: 16])),
    .wl_en_i(ld_w_en && ld_st == 3'd2), .wl_row_i($clog2(9*C2_CIN)'(ld_w_row)),
    .wl_data_i(ld_w_data[C2_COUT*8-1:0]),
    .tl_en_i(ld_t_en && ld_t_st == 3'd2), .tl_ch_i($clog2(C2_COUT)'(ld_t_ch)),
    .tl_pix_i(PW2'(ld_t_pix)), .tl_th_i(ld_t_th), .tl_pol_i(ld_t_pol),
    .bl_en_i(ld_b_en && ld_st == 3'd2), .bl_ch_i($clog2(C2_COUT)'(ld_b_ch)), .bl_data_i(ld_b_data),
    .start_i(go[3]), .in_img_i(s_img[2]), .out_img_i(s_img[2]), .start_ready_o(s_rdy[2]),
    .busy_o(), .done_o(fin[3]),
    .events_o(s_ev[2]), .synops_o(s_syn[2]), .spikes_o(s_spk[2]), .pool_spikes_o(s_pspk[2]),
    .rd_valid_o(m2_rv), .rd_y_o(m2_ry), .rd_x_o(m2_rx), .rd_img_o(s_rimg[2]), .rd_patch_i(m2_patch),
    .wr_valid_o(s_wv[2]), .wr_y_o(s2_wy), .wr_x_o(s2_wx), .wr_data_o(s2_wd), .wr_or_o(s_wor[2]),
    .wr_img_o(s_wimg[2]),
    .wr_newbits_valid_i(s_nbv[2]), .wr_newbits_i($clog2(W3+1)'(s_nb[2])),
    .tr_valid_o(tr_v[2]), .tr_pix_o(tr2_pix), .tr_data_o(tr2_data)
  );
  assign s_wy[2] = 16'(s2_wy);
  assign s_wx[2] = 16'(s2_wx);

  // ---- fc and out stages ---------------------------------------------------------------------
  localparam int unsigned F_PW = $clog2(F_HW + 1);
  logic [F_PW-1:0] f_rpix;
  snn_fc_stage #(
    .CIN(F_CIN), .IN_HW(F_HW), .COUT(F_COUT), .FCH(F_FCH), .TM(TM), .ACC_W(ACCF), .OUT(0)
  ) u_fc (
    .clk_i(clk), .rst_ni(rst_n),
    .in_hw_i(F_PW'(cfg_f_hw)), .cout_i($clog2(F_COUT+1)'(cfg_f_cout)), .t_steps_i(cfg_t),
    .wl_en_i(ld_w_en && ld_st == 3'd3), .wl_row_i($clog2(F_CIN*F_HW)'(ld_w_row)),
    .wl_data_i(ld_w_data[F_COUT*8-1:0]),
    .tl_en_i(ld_t_en && ld_t_st == 3'd3), .tl_ch_i($clog2(F_COUT)'(ld_t_ch)),
    .tl_th_i(ld_t_th), .tl_pol_i(ld_t_pol),
    .bl_en_i(ld_b_en && ld_st == 3'd3), .bl_ch_i($clog2(F_COUT)'(ld_b_ch)), .bl_data_i(ld_b_data),
    .start_i(go[4]), .busy_o(), .done_o(fin[4]),
    .events_o(s_ev[3]), .synops_o(s_syn[3]), .spikes_o(s_spk[3]),
    .rd_valid_o(m3_rv), .rd_pix_o(f_rpix), .rd_word_i(m3_word),
    .wr_valid_o(f_wv), .wr_data_o(f_wd), .sums_o(), .pred_o()
  );
  assign m3_rpix   = X3'(f_rpix);
  assign s_pspk[3] = '0;

  logic [O_COUT*32-1:0] o_sums;
  logic [31:0]          o_pred;
  logic                 o_rpix;
  snn_fc_stage #(
    .CIN(F_COUT), .IN_HW(1), .COUT(O_COUT), .FCH(O_COUT), .TM(TM), .ACC_W(ACCO), .OUT(1)
  ) u_out (
    .clk_i(clk), .rst_ni(rst_n),
    .in_hw_i(1'b1), .cout_i($clog2(O_COUT+1)'(cfg_k)), .t_steps_i(cfg_t),
    .wl_en_i(ld_w_en && ld_st == 3'd4), .wl_row_i($clog2(F_COUT)'(ld_w_row)),
    .wl_data_i(ld_w_data[O_COUT*8-1:0]),
    .tl_en_i(1'b0), .tl_ch_i('0), .tl_th_i('0), .tl_pol_i(1'b0),
    .bl_en_i(ld_b_en && ld_st == 3'd4), .bl_ch_i($clog2(O_COUT)'(ld_b_ch)), .bl_data_i(ld_b_data),
    .start_i(go[5]), .busy_o(), .done_o(fin[5]),
    .events_o(s_ev[4]), .synops_o(s_syn[4]), .spikes_o(s_spk[4]),
    .rd_valid_o(m4_rv), .rd_pix_o(o_rpix), .rd_word_i(m4_word),
    .wr_valid_o(), .wr_data_o(), .sums_o(o_sums), .pred_o(o_pred)
  );
  assign m4_rpix   = o_rpix;
  assign s_pspk[4] = '0;

  // ---- counters: one queue per stage, popped when the record is captured -----------------------
  logic [4:0]  q_out_valid;
  logic [127:0] q_out [5];
  logic        cap;
  for (genvar s = 0; s < 5; s++) begin : g_q
    snn_fifo #(.WIDTH(128), .DEPTH(QD)) u_q (
      .clk_i(clk), .rst_ni(rst_n), .clear_i(run_q == R_IDLE),
      .in_valid_i(fin[s + 1]), .in_ready_o(),
      .in_data_i({s_ev[s], s_syn[s], s_spk[s], s_pspk[s]}),
      .out_valid_o(q_out_valid[s]), .out_ready_i(cap), .out_data_o(q_out[s]), .count_o()
    );
  end

  // ---- records -----------------------------------------------------------------------------------
  logic [5*32-1:0] r_spk, r_pspk, r_syn, r_ev;
  always_comb
    for (int s = 0; s < 5; s++) begin
      r_pspk[s*32 +: 32] = q_out[s][31:0];
      r_spk[s*32 +: 32]  = q_out[s][63:32];
      r_syn[s*32 +: 32]  = q_out[s][95:64];
      r_ev[s*32 +: 32]   = q_out[s][127:96];
    end

  logic [GA-1:0]  rec_addr_q;
  wire [31:0]     stride = 32'(((32'(cfg_k) + 32'd1 + 32'(3 * cfg_layers)) * 4 + 63) & ~32'd63);
  wire            cap_nofit = running && nofit && n_rec_q < n_q && rec_ready;
  assign cap = (running && out_full_q && rec_ready && &q_out_valid) || cap_nofit;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      out_full_q <= 1'b0;
      n_rec_q    <= '0;
    end else begin
      if (fin[5]) out_full_q <= 1'b1;
      if (cap) begin
        out_full_q <= 1'b0;
        n_rec_q    <= n_rec_q + 1'b1;
        rec_addr_q <= rec_addr_q + GA'(stride);
      end
      if (run_q == R_IDLE && ctrl_start) begin
        n_rec_q    <= '0;
        rec_addr_q <= arg_results;
      end
    end
  end

  logic          wc_valid, wc_ready, wd_valid, wd_ready;
  logic [GA-1:0] wc_addr;
  logic [23:0]   wc_words;
  logic [31:0]   wd_data;

  snn_pipe_record #(.GA(GA), .NCLS(O_COUT), .NS(5)) u_rec (
    .clk_i(clk), .rst_ni(rst_n),
    .n_classes_i(cfg_k), .n_layers_i(cfg_layers),
    .layer_of_i(cfg_layer_of), .pool_of_i(cfg_pool_of),
    .cap_i(cap), .ready_o(rec_ready), .nofit_i(nofit), .addr_i(rec_addr_q),
    .sums_i(o_sums), .pred_i(o_pred), .spikes_i(r_spk), .pool_spikes_i(r_pspk), .synops_i(r_syn),
    .events_i(r_ev),
    .cmd_valid_o(wc_valid), .cmd_ready_i(wc_ready), .cmd_addr_o(wc_addr), .cmd_words_o(wc_words),
    .wd_valid_o(wd_valid), .wd_ready_i(wd_ready), .wd_data_o(wd_data)
  );

  // ---- trace mode --------------------------------------------------------------------------------
  logic          tc_valid, tc_ready, td_valid, td_ready, tr_start;
  logic [GA-1:0] tc_addr, tr_addr_q;
  logic [23:0]   tc_words;
  logic [31:0]   td_data, tr_words;
  // the trace of the image just recorded starts once its record is out
  assign tr_start = running && trace_on_q && n_tr_q != n_rec_q && rec_ready && !tr_busy && !cap;
  always_ff @(posedge clk) begin
    if (run_q == R_IDLE && ctrl_start) begin
      n_tr_q    <= '0;
      tr_addr_q <= arg_trace;
    end else if (tr_start) begin
      n_tr_q    <= n_tr_q + 1'b1;
      tr_addr_q <= tr_addr_q + GA'(tr_words * 4);
    end
  end

  snn_pipe_trace #(
    .GA(GA), .TM(TM), .W0(W1), .D0(C0_H * C0_W), .W1(W2), .D1(C1_H * C1_W), .W2(W3),
    .D2(C2_H * C2_W), .WF(W4), .NCLS(O_COUT)
  ) u_trace (
    .clk_i(clk), .rst_ni(rst_n),
    .t_steps_i(cfg_t), .n_layers_i(cfg_layers), .n_classes_i(cfg_k),
    .lay_c_i(cfg_lay_c), .lay_h_i(cfg_lay_h), .lay_w_i(cfg_lay_w), .lay_stage_i(cfg_lay_stage),
    .lay_pool_i(cfg_lay_pool), .stage_w_i(cfg_w),
    .tr0_valid_i(tr_v[0]), .tr0_pix_i(32'(tr0_pix)), .tr0_data_i(tr0_data),
    .tr1_valid_i(tr_v[1]), .tr1_pix_i(32'(tr1_pix)), .tr1_data_i(tr1_data),
    .tr2_valid_i(tr_v[2]), .tr2_pix_i(32'(tr2_pix)), .tr2_data_i(tr2_data),
    .fc_valid_i(f_wv), .fc_data_i(f_wd), .sums_i(o_sums),
    .start_i(tr_start), .addr_i(tr_addr_q), .busy_o(tr_busy), .words_o(tr_words),
    .cmd_valid_o(tc_valid), .cmd_ready_i(tc_ready), .cmd_addr_o(tc_addr), .cmd_words_o(tc_words),
    .wd_valid_o(td_valid), .wd_ready_i(td_ready), .wd_data_o(td_data)
  );

  // one write port: the trace while it runs, the records otherwise (the two
  // never overlap: a trace starts after its record is out, and the next
  // record needs the next image, which waits for the trace)
  logic          mw_cmd_ready, mw_wd_ready;
  assign tc_ready = tr_busy && mw_cmd_ready;
  assign td_ready = tr_busy && mw_wd_ready;
  assign wc_ready = !tr_busy && mw_cmd_ready;
  assign wd_ready = !tr_busy && mw_wd_ready;

  snn_axi_wr #(.GA(GA)) u_wr (
    .clk_i(clk), .rst_ni(rst_n),
    .cmd_valid_i(tr_busy ? tc_valid : wc_valid), .cmd_ready_o(mw_cmd_ready),
    .cmd_addr_i(tr_busy ? tc_addr : wc_addr), .cmd_words_i(tr_busy ? tc_words : wc_words),
    .wd_valid_i(tr_busy ? td_valid : wd_valid), .wd_ready_o(mw_wd_ready),
    .wd_data_i(tr_busy ? td_data : wd_data), .idle_o(wr_idle),
    .awvalid_o(m_axi_gmem_awvalid), .awready_i(m_axi_gmem_awready),
    .awaddr_o(m_axi_gmem_awaddr), .awlen_o(m_axi_gmem_awlen),
    .wvalid_o(m_axi_gmem_wvalid), .wready_i(m_axi_gmem_wready),
    .wdata_o(m_axi_gmem_wdata), .wstrb_o(m_axi_gmem_wstrb), .wlast_o(m_axi_gmem_wlast),
    .bvalid_i(m_axi_gmem_bvalid), .bready_o(m_axi_gmem_bready)
  );

`ifdef SNN_PIPE_DEBUG
  always_ff @(posedge clk) begin
    for (int u = 1; u < 6; u++)
      if (fin[u]) $display("%0t fin stage %0d seq %0d: ev %0d syn %0d spk %0d pspk %0d", $time, u - 1,
                           seq_q[u], s_ev[u-1], s_syn[u-1], s_spk[u-1], s_pspk[u-1]);
    if (cap) $display("%0t cap: q3 %h", $time, q_out[3]);
  end
`endif

`ifdef SNN_ASSERT
  // Every stage's counter queue has room: at most two images per map wait.
  for (genvar s = 0; s < 5; s++) begin : g_qa
    assert property (@(posedge clk) disable iff (!rst_n) fin[s + 1] |-> g_q[s].u_q.count_o < 5'(QD));
  end
  // A unit finishes only what it started; the conv stages hold at most two
  // images, the other units one.
  logic [NU-1:0] a_fin_ok, a_nact_ok, a_seq_ok;
  always_comb
    for (int u = 0; u < int'(NU); u++) begin
      a_fin_ok[u]  = !fin[u] || nact_q[u] != 2'd0;
      a_nact_ok[u] = nact_q[u] <= ((u >= 1 && u <= 3) ? 2'd2 : 2'd1);
      a_seq_ok[u]  = sst_q[u] == seq_q[u] + 32'(nact_q[u]);
    end
  assert property (@(posedge clk) disable iff (!rst_n) &a_fin_ok);
  assert property (@(posedge clk) disable iff (!rst_n) &a_nact_ok);
  assert property (@(posedge clk) disable iff (!rst_n) &a_seq_ok);
`endif

endmodule
