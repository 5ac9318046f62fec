// snn_post - everything after the accumulation, in order, one item at a time:
//
//   per LIF layer l and step t (a "group"):
//     threshold pass   acc bank + u + threshold/polarity + bias -> snn_lif ->
//                      u, spike map of l (32 pixels per word and lane), acc cleared
//     trace chunk      (trace != 0) the map streamed out in CHW bit order
//     OR-pool          for each POOL layer that follows: two rows ORed, bit
//                      pairs folded, one output word per 2-4 map reads (+ trace)
//   per output step t: sums[k] += acc[k] + bias[k], acc cleared
//   per image:         result record (sums, arg-max, spikes, synops, padding),
//                      trace tail (the sums)
//
// A group starts when the accumulate side hands over the job's bank (token,
// with the job's synapse count); the bank is handed back after the pass
// (layer 0 keeps its bank for all T passes: its accumulation is done once).
// groups_o counts finished groups (and records); the accumulate side waits
// on it before it reads a spike map. Writes go through one word FIFO into
// snn_axi_wr. With nofit_i every image gets a record of zeros with pred = -1.
`default_nettype none

module snn_post
  import snn_pkg::*;
#(
  parameter int unsigned LANES       = 8,    // lanes
  parameter int unsigned MAX_LAYERS  = 16,   // layers
  parameter int unsigned MAX_CLASSES = 64,   // classes
  parameter int unsigned GA          = 64,   // AXI address bits
  parameter int unsigned XAW         = 13,   // accumulator / membrane address bits
  parameter int unsigned TAW         = 14,   // threshold address bits
  parameter int unsigned BAW         = 10,   // bias address bits
  parameter int unsigned MAW         = 11    // spike-map address bits
) (
  input  wire                  clk_i,
  input  wire                  rst_ni,
  // run
  input  wire                  start_i,
  input  wire                  nofit_i,
  input  wire [31:0]           n_images_i,
  input  wire [GA-1:0]         results_i,
  input  wire [GA-1:0]         trace_i,
  output logic                 done_o,         // level: every record is handed to the writer
  // image configuration
  input  layer_cfg_t [MAX_LAYERS-1:0] cfg_i,
  input  wire [4:0]            n_layers_i,
  input  wire [4:0]            t_i,
  input  wire [6:0]            n_classes_i,
  input  wire [AddrW-1:0]      trace_step_i,
  input  wire [AddrW-1:0]      trace_words_i,
  input  wire [AddrW-1:0]      rec_words_i,
  // accumulate side
  input  wire                  tok_valid_i,
  output logic                 tok_ready_o,
  input  wire                  tok_bank_i,
  input  wire [31:0]           tok_synops_i,
  output logic                 free_o,         // pulse: bank free_bank_o is free again
  output logic                 free_bank_o,
  output logic [31:0]          groups_o,
  // accumulator bank port (bank p_bank_o)
  output logic                 a_re_o,
  output logic                 a_bank_o,
  output logic [XAW-1:0]       a_raddr_o,
  input  wire [LANES*32-1:0]   a_rdata_i,
  output logic                 a_we_o,
  output logic [XAW-1:0]       a_waddr_o,
  // membrane RAM
  output logic                 u_re_o,
  output logic [XAW-1:0]       u_raddr_o,
  input  wire [LANES*32-1:0]   u_rdata_i,
  output logic                 u_we_o,
  output logic [XAW-1:0]       u_waddr_o,
  output logic [LANES*32-1:0]  u_wdata_o,
  // thresholds, polarity, bias
  output logic                 th_re_o,
  output logic [TAW-1:0]       th_raddr_o,
  input  wire [LANES*32-1:0]   th_rdata_i,
  input  wire [LANES-1:0]      pol_rdata_i,
  output logic                 b_re_o,
  output logic [BAW-1:0]       b_raddr_o,
  input  wire [LANES*32-1:0]   b_rdata_i,
  // spike maps
  output logic                 mw_we_o,
  output logic                 mw_buf_o,
  output logic [MAW-1:0]       mw_addr_o,
  output logic [LANES*32-1:0]  mw_data_o,
  output logic                 mr_req_o,       // always granted
  output logic                 mr_buf_o,
  output logic [MAW-1:0]       mr_addr_o,
  input  wire [LANES*32-1:0]   mr_data_i,
  // writer
  output logic                 wc_valid_o,
  input  wire                  wc_ready_i,
  output logic [GA-1:0]        wc_addr_o,
  output logic [23:0]          wc_words_o,
  output logic                 wd_valid_o,
  input  wire                  wd_ready_i,
  output logic [31:0]          wd_data_o
);

  localparam int unsigned LW  = (LANES > 1) ? $clog2(LANES) : 1;
  localparam int unsigned LS  = $clog2(LANES);
  localparam int unsigned LIW = $clog2(MAX_LAYERS);
  localparam int unsigned KW  = $clog2(MAX_CLASSES) + 1;

  typedef enum logic [4:0] {
    SIdle, SItem, STok, SThrSet, SThr, SThrDrain, SPoolChk, SPoolSet, SPool, SPoolDrain,
    STrSet, STrCmd, STr, STrFlush, SGroup, SSumSet, SSum, SSumDrain, SResCmd, SRes,
    SRtrCmd, SRtr, SImg, SDone
  } state_e;

  state_e state_q, state_d;

  // ---- item position ------------------------------------------------------------------
  logic [31:0]     img_q;
  logic [4:0]      lay_q;       // LIF or OUT layer of the group
  logic [4:0]      m_q;         // layer whose map was produced last (lay or a pool)
  logic [4:0]      t_q;
  logic            bank_q;
  logic            nofit_q, trace_en_q;
  logic [GA-1:0]   res_addr_q, tr_img_q;
  logic [31:0]     n_images_q;

  layer_cfg_t cl, cm, cq, cqp;   // layer of the group, map layer, pool layer, its input
  logic [LIW-1:0] q_idx;
  assign q_idx = LIW'(m_q + 1'b1);
  assign cl  = cfg_i[lay_q[LIW-1:0]];
  assign cm  = cfg_i[m_q[LIW-1:0]];
  assign cq  = cfg_i[q_idx];
  assign cqp = cm;

  logic first_step, keep_bank, last_step, pool_next;
  assign first_step = (t_q == '0);
  assign last_step  = (t_q == t_i - 1'b1);
  assign keep_bank  = (lay_q == '0) && !last_step;    // layer 0: T passes on one bank
  assign pool_next  = (32'(m_q) + 1 < 32'(n_layers_i)) && (cq.kind == KindPool);

  // ---- counters of the image -------------------------------------------------------------
  logic [31:0] spikes_q [MAX_LAYERS];
  logic [31:0] synops_q [MAX_LAYERS];
  logic signed [31:0] sums_q [MAX_CLASSES];
  logic [31:0] spike_add;       // spikes found this cycle (threshold or pool pass)
  logic [LIW-1:0] spike_layer;

  // ---- pass counters (shared by the threshold, pool, sum and trace passes) --------------
  logic [AddrW-1:0] n_q;          // addresses / words left to issue
  logic [XAW-1:0]   a_q;          // neuron address (threshold, sum)
  logic [DimW-1:0]  g_q, y_q, x_q;
  logic [7:0]       k_q;
  logic [MAW-1:0]   mw_addr_q;    // next map word written
  logic [MAW-1:0]   mr_addr_q;    // next map word read / row base
  logic [MAW-1:0]   rb_q;         // pool: input row 2Y base; trace: channel base
  logic [AddrW-1:0] hwpr_q;       // pool/trace: map words per channel group of the input
  logic [1:0]       r_q;          // pool: read within the output word
  logic [LW-1:0]    lane_q;       // trace: lane of the channel
  logic [DimW-1:0]  c_q;          // trace: channel
  logic [MAW-1:0]   gb_q;         // pool: input group base
  logic [31:0]      groups_q;

  // ---- threshold pass pipeline --------------------------------------------------------
  typedef struct packed {
    logic           valid;
    logic [XAW-1:0] a;
    logic [4:0]     bit_pos;
    logic           word_end;
    logic [LANES-1:0] mask;
  } thr_meta_t;
  thr_meta_t m1_q, m2_q, m3_q;
  thr_meta_t m0;
  logic             thr_issue;
  logic [LANES-1:0] grp_mask;
  logic             clear_acc_q;

  always_comb begin
    for (int j = 0; j < LANES; j++) grp_mask[j] = (j < 32'(cl.last_lanes));
    if (g_q != cl.grp - 1'b1) grp_mask = '1;
  end

  assign thr_issue   = (state_q == SThr) && (n_q != '0);
  assign m0.valid    = thr_issue;
  assign m0.a        = a_q;
  assign m0.bit_pos  = x_q[4:0];
  assign m0.word_end = (x_q[4:0] == 5'd31) || (x_q == cl.out_w - 1'b1);
  assign m0.mask     = grp_mask;

  // Only m1 needs the lane mask; hwpr is an on-chip word count (MAW bits).
  logic unused_post;
  assign unused_post = ^{m2_q.mask, m3_q.mask, hwpr_q[AddrW-1:MAW]};

  logic             lif_valid;
  logic [LANES-1:0] lif_fire;
  logic [LANES*32-1:0] lif_u;

  snn_lif #(.LANES(LANES)) u_lif (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .valid_i (m1_q.valid),
    .first_i (first_step),
    .mask_i  (m1_q.mask),
    .acc_i   (a_rdata_i),
    .u_i     (u_rdata_i),
    .bias_i  (b_rdata_i),
    .th_i    (th_rdata_i),
    .pol_i   (pol_rdata_i),
    .valid_o (lif_valid),
    .fire_o  (lif_fire),
    .u_o     (lif_u)
  );

  logic [31:0] word_q [LANES];   // spike words being assembled
  logic [LANES*32-1:0] word_out;
  always_comb begin
    for (int j = 0; j < LANES; j++)
      word_out[j*32 +: 32] = word_q[j] | (32'(lif_fire[j]) << m3_q.bit_pos);
  end

  function automatic logic [5:0] popc_lanes(input logic [LANES-1:0] v);
    popc_lanes = '0;
    for (int j = 0; j < LANES; j++) popc_lanes = popc_lanes + 6'(v[j]);
  endfunction

  // ---- pool pass pipeline -----------------------------------------------------------------
  logic             pool_issue;
  logic             pool_two;      // two input words per row (2K+1 exists)
  logic             pool_rlast;    // the read issued is the output word's last
  logic [MAW-1:0]   pool_raddr;
  logic             pr_valid_q;    // a pool read returns this cycle
  logic             pr_hi_q, pr_last_q;
  logic [DimW-1:0]  pr_g_q;
  logic [7:0]       pr_k_q;
  logic [LANES*32-1:0] pool_lo_q, pool_hi_q;
  logic [LANES*32-1:0] pool_word;
  logic [10:0]      pool_cnt;
  logic [LANES-1:0] pool_lmask;

  // OR of each bit pair (2b, 2b+1) of a 64-bit row segment, packed to 32 bits
  // (bit b): word-level compaction instead of a per-bit loop.
  function automatic logic [31:0] fold_pairs(input logic [63:0] v);
    logic [63:0] x;
    x = (v | (v >> 1)) & 64'h5555_5555_5555_5555;
    x = (x | (x >> 1)) & 64'h3333_3333_3333_3333;
    x = (x | (x >> 2)) & 64'h0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 64'h00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 64'h0000_FFFF_0000_FFFF;
    x = (x | (x >> 16)) & 64'h0000_0000_FFFF_FFFF;
    fold_pairs = x[31:0];
  endfunction

  assign pool_two   = (32'({k_q, 1'b1}) < 32'(cqp.wpr));
  assign pool_rlast = pool_two ? (r_q == 2'd3) : (r_q == 2'd2);
  assign pool_issue = (state_q == SPool) && (n_q != '0);
  assign pool_raddr = rb_q + (r_q[1] ? MAW'(cqp.wpr) : '0) + MAW'({k_q, r_q[0]});

  always_comb begin
    logic [63:0] both;
    logic [31:0] folded, bmask;
    logic [DimW-1:0] rem;
    rem   = cq.out_w - DimW'({pr_k_q, 5'b00000});
    bmask = (pr_k_q == cq.wpr - 1'b1 && rem < DimW'(32)) ? ((32'd1 << rem) - 1'b1) : 32'hFFFF_FFFF;
    for (int j = 0; j < LANES; j++) begin
      pool_lmask[j] = (pr_g_q != cq.grp - 1'b1) || (j < 32'(cq.last_lanes));
    end
    pool_cnt = '0;
    for (int j = 0; j < LANES; j++) begin
      both = {pool_hi_q[j*32 +: 32] | (pr_hi_q ? mr_data_i[j*32 +: 32] : 32'd0),
              pool_lo_q[j*32 +: 32] | (pr_hi_q ? 32'd0 : mr_data_i[j*32 +: 32])};
      folded = fold_pairs(both);
      pool_word[j*32 +: 32] = pool_lmask[j] ? (folded & bmask) : 32'd0;
      pool_cnt = pool_cnt + 11'($countones(pool_word[j*32 +: 32]));
    end
  end

  // ---- sum pass ------------------------------------------------------------------------------
  logic          s1_valid_q;
  logic [DimW-1:0] s1_g_q;

  // ---- trace packer ---------------------------------------------------------------------------
  logic          tr_issue;
  logic          trr_valid_q;     // a trace read returns this cycle
  logic [LW-1:0] trr_lane_q;
  logic [5:0]    trr_nb_q;        // valid bits of the word read
  logic [63:0]   pk_bits_q;
  logic [6:0]    pk_fill_q;
  logic [31:0]   tr_word_sel;

  // ---- word FIFO to the writer ------------------------------------------------------------------
  logic        wf_push;
  logic [31:0] wf_data;
  logic        wf_ready;
  logic [4:0]  wf_count;

  snn_fifo #(.WIDTH(32), .DEPTH(16)) u_wfifo (
    .clk_i       (clk_i),
    .rst_ni      (rst_ni),
    .clear_i     (1'b0),
    .in_valid_i  (wf_push),
    .in_ready_o  (wf_ready),
    .in_data_i   (wf_data),
    .out_valid_o (wd_valid_o),
    .out_ready_i (wd_ready_i),
    .out_data_o  (wd_data_o),
    .count_o     (wf_count)
  );

  assign tr_issue = (state_q == STr) && (n_q != '0) && (wf_count < 5'd13);

  always_comb begin
    tr_word_sel = mr_data_i[32'(trr_lane_q) * 32 +: 32];
    if (trr_nb_q != 6'd32) tr_word_sel = tr_word_sel & ((32'd1 << trr_nb_q[4:0]) - 1'b1);
  end

  // ---- record words -----------------------------------------------------------------------------
  logic [AddrW-1:0]   rw_q;        // record word index
  logic signed [31:0] best_v_q;
  logic [KW-1:0]      best_k_q;
  logic [31:0]        rec_word;
  logic               rec_is_sum;
  logic [AddrW-1:0]   nc, nl;
  assign nc = AddrW'(n_classes_i);
  assign nl = AddrW'(n_layers_i);
  always_comb begin
    rec_word   = 32'd0;
    rec_is_sum = 1'b0;
    if (rw_q < nc) begin
      rec_is_sum = 1'b1;
      rec_word   = nofit_q ? 32'd0 : sums_q[rw_q[KW-2:0]];
    end else if (rw_q == nc) begin
      rec_word = nofit_q ? 32'hFFFF_FFFF : 32'(best_k_q);
    end else if (rw_q < nc + 1 + nl) begin
      rec_word = nofit_q ? 32'd0 : spikes_q[LIW'(rw_q - nc - 1'b1)];
    end else if (rw_q < nc + 1 + 2 * nl) begin
      rec_word = nofit_q ? 32'd0 : synops_q[LIW'(rw_q - nc - 1'b1 - nl)];
    end
  end

  // ---- FSM ---------------------------------------------------------------------------------------
  logic pass_drained;   // threshold pipeline empty
  assign pass_drained = !m1_q.valid && !m2_q.valid && !m3_q.valid;

  always_comb begin
    state_d = state_q;
    unique case (state_q)
      SIdle:      if (start_i) state_d = (n_images_i == '0) ? SDone : SItem;
      SItem: begin
        if (nofit_q)                              state_d = SResCmd;
        else if (lay_q == '0 && !first_step)      state_d = (cl.kind == KindOut) ? SSumSet : SThrSet;
        else                                      state_d = STok;
      end
      STok:       if (tok_valid_i) state_d = (cl.kind == KindOut) ? SSumSet : SThrSet;
      SThrSet:    state_d = SThr;
      SThr:       if (n_q == '0) state_d = SThrDrain;
      SThrDrain:  if (pass_drained && !lif_valid) state_d = trace_en_q ? STrSet : SPoolChk;
      SPoolChk:   state_d = pool_next ? SPoolSet : SGroup;
      SPoolSet:   state_d = SPool;
      SPool:      if (n_q == '0) state_d = SPoolDrain;
      SPoolDrain: if (!pr_valid_q) state_d = trace_en_q ? STrSet : SPoolChk;
      STrSet:     state_d = STrCmd;
      STrCmd:     if (wc_ready_i) state_d = STr;
      STr:        if (n_q == '0 && !trr_valid_q) state_d = STrFlush;
      STrFlush:   if (pk_fill_q == '0 || wf_ready) state_d = SPoolChk;
      SGroup:     state_d = SItem;
      SSumSet:    state_d = SSum;
      SSum:       if (n_q == '0) state_d = SSumDrain;
      SSumDrain:  if (!s1_valid_q) state_d = last_step ? SResCmd : SItem;
      SResCmd:    if (wc_ready_i) state_d = SRes;
      SRes:       if (rw_q == rec_words_i - 1'b1 && wf_ready)
                    state_d = (trace_en_q && !nofit_q) ? SRtrCmd : SImg;
      SRtrCmd:    if (wc_ready_i) state_d = SRtr;
      SRtr:       if (rw_q == nc - 1'b1 && wf_ready) state_d = SImg;
      SImg:       state_d = (img_q + 1 == n_images_q) ? SDone : SItem;
      SDone:      state_d = SIdle;
      default:    state_d = SIdle;
    endcase
  end

  assign done_o      = (state_q == SDone);
  assign tok_ready_o = (state_q == STok);
  assign groups_o    = groups_q;

  // ---- memory ports ---------------------------------------------------------------------------
  always_comb begin
    a_re_o     = 1'b0;
    a_bank_o   = bank_q;
    a_raddr_o  = a_q;
    a_we_o     = 1'b0;
    a_waddr_o  = m1_q.a;
    u_re_o     = 1'b0;
    u_raddr_o  = a_q;
    u_we_o     = 1'b0;
    u_waddr_o  = m3_q.a;
    u_wdata_o  = lif_u;
    th_re_o    = 1'b0;
    th_raddr_o = TAW'(cl.th_base + AddrW'(a_q));
    b_re_o     = 1'b0;
    b_raddr_o  = BAW'(cl.b_base + AddrW'(g_q));
    mw_we_o    = 1'b0;
    mw_buf_o   = cm.map_buf;
    mw_addr_o  = mw_addr_q;
    mw_data_o  = word_out;
    mr_req_o   = 1'b0;
    mr_buf_o   = cm.map_buf;
    mr_addr_o  = mr_addr_q;
    // threshold pass
    if (thr_issue) begin
      a_re_o  = 1'b1;
      u_re_o  = !first_step;
      th_re_o = 1'b1;
      b_re_o  = 1'b1;
    end
    if (m1_q.valid && clear_acc_q) a_we_o = 1'b1;
    if (lif_valid) begin
      u_we_o  = 1'b1;
      mw_we_o = m3_q.word_end;
    end
    // sum pass
    if (state_q == SSum && n_q != '0) begin
      a_re_o = 1'b1;
      b_re_o = 1'b1;
    end
    if (s1_valid_q && clear_acc_q) begin
      a_we_o    = 1'b1;
      a_waddr_o = XAW'(s1_g_q);
    end
    // pool pass: read the input map, write the pooled map
    if (state_q == SPool || state_q == SPoolDrain) begin
      mr_req_o  = pool_issue;
      mr_addr_o = pool_raddr;
      mr_buf_o  = cqp.map_buf;
      mw_buf_o  = cq.map_buf;
      mw_data_o = pool_word;
      mw_we_o   = pr_valid_q && pr_last_q;
    end
    // trace: read the map of layer m
    if (state_q == STr) begin
      mr_req_o = tr_issue;
      mr_buf_o = cm.map_buf;
    end
  end

  // ---- word FIFO input ----------------------------------------------------------------------
  always_comb begin
    wf_push = 1'b0;
    wf_data = rec_word;
    if (state_q == SRes) wf_push = 1'b1;
    if (state_q == SRtr) begin
      wf_push = 1'b1;
      wf_data = sums_q[rw_q[KW-2:0]];
    end
    if (trr_valid_q && (7'(pk_fill_q) + 7'(trr_nb_q) >= 7'd32)) begin
      wf_push = 1'b1;
      wf_data = 32'((pk_bits_q | (64'(tr_word_sel) << pk_fill_q)));
    end
    if (state_q == STrFlush && pk_fill_q != '0) begin
      wf_push = 1'b1;
      wf_data = pk_bits_q[31:0];
    end
  end

  // ---- writer command ----------------------------------------------------------------------------
  always_comb begin
    wc_valid_o = 1'b0;
    wc_addr_o  = res_addr_q;
    wc_words_o = 24'(rec_words_i);
    unique case (state_q)
      SResCmd: wc_valid_o = 1'b1;
      STrCmd: begin
        wc_valid_o = 1'b1;
        wc_addr_o  = tr_img_q + GA'({(AddrW'(t_q) * trace_step_i + cm.tr_off), 2'b00});
        wc_words_o = 24'(cm.tr_words);
      end
      SRtrCmd: begin
        wc_valid_o = 1'b1;
        wc_addr_o  = tr_img_q + GA'({(AddrW'(t_i) * trace_step_i), 2'b00});
        wc_words_o = 24'(nc);
      end
      default: ;
    endcase
  end

  // ---- spike counting ---------------------------------------------------------------------------
  always_comb begin
    spike_add   = '0;
    spike_layer = m_q[LIW-1:0];
    if (lif_valid) spike_add = 32'(popc_lanes(lif_fire));
    if ((state_q == SPool || state_q == SPoolDrain) && pr_valid_q && pr_last_q) begin
      spike_add   = 32'(pool_cnt);
      spike_layer = q_idx;
    end
  end

  // ---- registers -------------------------------------------------------------------------------
  always_ff @(posedge clk_i) begin
    if (!rst_ni) state_q <= SIdle;
    else         state_q <= state_d;
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      m1_q        <= '0;
      m2_q        <= '0;
      m3_q        <= '0;
      s1_valid_q  <= 1'b0;
      pr_valid_q  <= 1'b0;
      trr_valid_q <= 1'b0;
      free_o      <= 1'b0;
      groups_q    <= '0;
      img_q       <= '0;
    end else begin
      free_o <= 1'b0;
      m1_q <= m0;
      m2_q <= m1_q;
      m3_q <= m2_q;
      s1_valid_q  <= (state_q == SSum) && (n_q != '0);
      pr_valid_q  <= pool_issue;
      trr_valid_q <= tr_issue;
      if (spike_add != '0) spikes_q[spike_layer] <= spikes_q[spike_layer] + spike_add;
      if (lif_valid) begin
        for (int j = 0; j < LANES; j++) word_q[j] <= m3_q.word_end ? 32'd0 : word_out[j*32 +: 32];
        if (m3_q.word_end) mw_addr_q <= mw_addr_q + 1'b1;
      end

      unique case (state_q)
        SIdle: if (start_i) begin
          img_q      <= '0;
          lay_q      <= '0;
          m_q        <= '0;
          t_q        <= '0;
          groups_q   <= '0;
          nofit_q    <= nofit_i;
          trace_en_q <= (trace_i != '0);
          res_addr_q <= results_i;
          tr_img_q   <= trace_i;
          n_images_q <= n_images_i;
          for (int l = 0; l < MAX_LAYERS; l++) begin
            spikes_q[l] <= '0;
            synops_q[l] <= '0;
          end
        end
        STok: if (tok_valid_i) begin
          bank_q <= tok_bank_i;
          synops_q[lay_q[LIW-1:0]] <= synops_q[lay_q[LIW-1:0]] + tok_synops_i;
        end
        SThrSet: begin
          n_q         <= AddrW'(cl.grp) * cl.hw_out;
          a_q         <= '0;
          g_q         <= '0;
          y_q         <= '0;
          x_q         <= '0;
          m_q         <= lay_q;
          mw_addr_q   <= MAW'(AddrW'(t_q) * cl.wps);
          clear_acc_q <= !keep_bank;
          for (int j = 0; j < LANES; j++) word_q[j] <= '0;
        end
        SThr: if (thr_issue) begin
          n_q <= n_q - 1'b1;
          a_q <= a_q + 1'b1;
          if (x_q == cl.out_w - 1'b1) begin
            x_q <= '0;
            if (y_q == cl.out_h - 1'b1) begin
              y_q <= '0;
              g_q <= g_q + 1'b1;
            end else begin
              y_q <= y_q + 1'b1;
            end
          end else begin
            x_q <= x_q + 1'b1;
          end
        end
        SThrDrain: if (pass_drained && !lif_valid && !keep_bank) begin
          free_o      <= 1'b1;
          free_bank_o <= bank_q;
        end
        SPoolSet: begin
          // output words: grp * out_h * wpr_out; input region and geometry of layer m
          n_q       <= AddrW'(cq.grp) * AddrW'(cq.out_h) * AddrW'(cq.wpr);
          g_q       <= '0;
          y_q       <= '0;
          k_q       <= '0;
          r_q       <= '0;
          hwpr_q    <= AddrW'(cqp.out_h) * AddrW'(cqp.wpr);
          rb_q      <= MAW'(AddrW'(t_q) * cqp.wps);
          gb_q      <= MAW'(AddrW'(t_q) * cqp.wps);
          mw_addr_q <= MAW'(AddrW'(t_q) * cq.wps);
          pool_lo_q <= '0;
          pool_hi_q <= '0;
        end
        SPool, SPoolDrain: begin
          if (pool_issue) begin
            // reads: r0 (row 2Y, word 2K), r1 (row 2Y, 2K+1), r2 (row 2Y+1, 2K), r3 (row 2Y+1, 2K+1)
            pr_hi_q   <= r_q[0];
            pr_last_q <= pool_rlast;
            pr_g_q    <= g_q;
            pr_k_q    <= k_q;
            if (pool_rlast) begin
              r_q <= '0;
              n_q <= n_q - 1'b1;
              if (k_q == cq.wpr - 1'b1) begin
                k_q <= '0;
                if (y_q == cq.out_h - 1'b1) begin
                  y_q  <= '0;
                  g_q  <= g_q + 1'b1;
                  rb_q <= gb_q + MAW'(hwpr_q);
                  gb_q <= gb_q + MAW'(hwpr_q);
                end else begin
                  y_q  <= y_q + 1'b1;
                  rb_q <= rb_q + MAW'({cqp.wpr, 1'b0});
                end
              end else begin
                k_q <= k_q + 1'b1;
              end
            end else begin
              r_q <= pool_two ? r_q + 2'd1 : r_q + 2'd2;
            end
          end
          if (pr_valid_q) begin
            if (pr_last_q) begin
              pool_lo_q <= '0;
              pool_hi_q <= '0;
              mw_addr_q <= mw_addr_q + 1'b1;
            end else if (pr_hi_q) begin
              pool_hi_q <= pool_hi_q | mr_data_i;
            end else begin
              pool_lo_q <= pool_lo_q | mr_data_i;
            end
          end
          if (state_q == SPoolDrain && !pr_valid_q) m_q <= m_q + 1'b1;
        end
        STrSet: begin
          n_q       <= AddrW'(cm.out_c) * AddrW'(cm.out_h) * AddrW'(cm.wpr);
          c_q       <= '0;
          lane_q    <= '0;
          y_q       <= '0;
          k_q       <= '0;
          hwpr_q    <= AddrW'(cm.out_h) * AddrW'(cm.wpr);
          rb_q      <= MAW'(AddrW'(t_q) * cm.wps);
          mr_addr_q <= MAW'(AddrW'(t_q) * cm.wps);
          pk_bits_q <= '0;
          pk_fill_q <= '0;
        end
        STr: begin
          if (tr_issue) begin
            n_q        <= n_q - 1'b1;
            trr_lane_q <= lane_q;
            trr_nb_q   <= (k_q == cm.wpr - 1'b1) ? 6'(cm.out_w - DimW'({k_q, 5'b00000})) : 6'd32;
            mr_addr_q  <= mr_addr_q + 1'b1;
            if (k_q == cm.wpr - 1'b1) begin
              k_q <= '0;
              if (y_q == cm.out_h - 1'b1) begin
                // next channel: same words for the next lane of the group
                y_q    <= '0;
                c_q    <= c_q + 1'b1;
                lane_q <= (LANES == 1) ? '0 : LW'(lane_q + 1'b1);
                if (32'(lane_q) == LANES - 1) begin
                  rb_q      <= rb_q + MAW'(hwpr_q);
                  mr_addr_q <= rb_q + MAW'(hwpr_q);
                end else begin
                  mr_addr_q <= rb_q;
                end
              end else begin
                y_q <= y_q + 1'b1;
              end
            end else begin
              k_q <= k_q + 1'b1;
            end
          end
          if (trr_valid_q) begin
            if (7'(pk_fill_q) + 7'(trr_nb_q) >= 7'd32) begin
              pk_bits_q <= (pk_bits_q | (64'(tr_word_sel) << pk_fill_q)) >> 32;
              pk_fill_q <= pk_fill_q + 7'(trr_nb_q) - 7'd32;
            end else begin
              pk_bits_q <= pk_bits_q | (64'(tr_word_sel) << pk_fill_q);
              pk_fill_q <= pk_fill_q + 7'(trr_nb_q);
            end
          end
        end
        STrFlush: if (pk_fill_q == '0 || wf_ready) pk_fill_q <= '0;
        SGroup: begin
          groups_q <= groups_q + 1'b1;
          if (last_step) begin
            t_q   <= '0;
            lay_q <= m_q + 1'b1;
            m_q   <= m_q + 1'b1;
          end else begin
            t_q <= t_q + 1'b1;
            m_q <= lay_q;
          end
        end
        SSumSet: begin
          n_q         <= AddrW'(cl.grp);
          g_q         <= '0;
          a_q         <= '0;
          clear_acc_q <= !keep_bank;
        end
        SSum: if (n_q != '0) begin
          n_q    <= n_q - 1'b1;
          g_q    <= g_q + 1'b1;
          a_q    <= a_q + 1'b1;
          s1_g_q <= g_q;
        end
        SSumDrain: if (!s1_valid_q) begin
          groups_q <= groups_q + 1'b1;
          if (!keep_bank) begin
            free_o      <= 1'b1;
            free_bank_o <= bank_q;
          end
          if (!last_step) t_q <= t_q + 1'b1;
          rw_q     <= '0;
          best_v_q <= sums_q[0];
          best_k_q <= '0;
        end
        SItem: if (nofit_q) rw_q <= '0;
        SRes: if (wf_ready) begin
          rw_q <= rw_q + 1'b1;
          if (rec_is_sum && !nofit_q && sums_q[rw_q[KW-2:0]] > best_v_q) begin
            best_v_q <= sums_q[rw_q[KW-2:0]];
            best_k_q <= KW'(rw_q);
          end
          if (rw_q == rec_words_i - 1'b1) rw_q <= '0;
        end
        SRtr: if (wf_ready) rw_q <= rw_q + 1'b1;
        SImg: begin
          groups_q   <= groups_q + 1'b1;
          img_q      <= img_q + 1'b1;
          lay_q      <= '0;
          m_q        <= '0;
          t_q        <= '0;
          res_addr_q <= res_addr_q + GA'({rec_words_i, 2'b00});
          tr_img_q   <= tr_img_q + GA'({trace_words_i, 2'b00});
          for (int l = 0; l < MAX_LAYERS; l++) begin
            spikes_q[l] <= '0;
            synops_q[l] <= '0;
          end
        end
        default: ;
      endcase
    end
  end

`ifdef SNN_DEBUG
  always_ff @(posedge clk_i) begin
    if (s1_valid_q)
      $display("post sum t%0d g%0d acc %h bias %h", t_q, s1_g_q, a_rdata_i, b_rdata_i);
    if (state_q != state_d) $display("post %0d -> %0d lay %0d t %0d m %0d", state_q, state_d, lay_q, t_q, m_q);
  end
`endif

  // sums of the output layer
  always_ff @(posedge clk_i) begin
    if (s1_valid_q) begin
      for (int j = 0; j < LANES; j++) begin
        logic [31:0] k;
        k = (32'(s1_g_q) << LS) | 32'(j);
        if (k < 32'(n_classes_i))
          sums_q[k[KW-2:0]] <= (first_step ? 32'sd0 : sums_q[k[KW-2:0]]) +
                               signed'(a_rdata_i[j*32 +: 32]) + signed'(b_rdata_i[j*32 +: 32]);
      end
    end
  end

endmodule
