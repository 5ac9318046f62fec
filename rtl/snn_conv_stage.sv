// snn_conv_stage - one conv layer of the layer pipeline (docs/rtl-pipeline.md):
// patch fetch from the stage's banked input map, E engines with register
// accumulators (snn_conv_engine), a round-robin hand-off to the LIF unit
// (snn_lif_unit), and the write of each output pixel's T-bit vectors into the
// next stage's map with up to one 2x2 OR-pool folded in.
//
// Per image (start_i .. done_o): output pixels in raster order; one patch
// read per cycle while a patch buffer slot is free; each patch goes to the
// lowest-numbered idle engine. The image is done when every pixel has left
// the LIF unit and its write has been issued. Counters of the image (events,
// synops, spikes of this layer and of the folded pool) are valid with done_o.
//
// Two images in flight (OVERLAP = 1): a start is taken (start_i &&
// start_ready_o) as soon as the last patch of the image before has been
// read, so that the engines freed at an image's end take the next image's
// pixels while the last ones of the image before finish. Every pixel carries
// its image slot (0 / 1, alternating per start); the slot selects the map
// half and tag of its reads (in_img_i at the start, out on rd_img_o) and
// writes (out_img_i at the start, out on wr_img_o) and the counters it adds
// to. done_o pulses once per image, in start order. The configuration inputs
// (shape, T, out_c, pool) are static while any image is in flight.
// OVERLAP = 0: one image at a time (start_ready_o = !busy_o).
//
// Static per model (loader): the weight RAM (one copy per two engines,
// written through port A of every copy at once), the threshold/polarity RAM
// (one 33-bit RAM per output channel, address = output pixel), the biases.
`default_nettype none

module snn_conv_stage #(
  parameter int unsigned CIN    = 32,    // input channels (maximum)
  parameter int unsigned COUT   = 32,    // output channels (maximum)
  parameter int unsigned TM     = 4,     // time steps (maximum)
  parameter int unsigned IMG    = 0,     // 1: the input map holds 8-bit pixels
  parameter int unsigned E      = 2,     // engines
  parameter int unsigned ACC_W  = 24,    // accumulator bits
  parameter int unsigned MAX_H  = 32,    // map height (maximum)
  parameter int unsigned MAX_W  = 32,    // map width (maximum)
  parameter int unsigned LIF_SERIAL = 0, // 1: the step-serial LIF unit (snn_lif_serial, one
                                         // pixel per T + 1 cycles), else one pixel per cycle
  parameter int unsigned ACC_DSP = 0,    // 1: the engines' accumulators in DSP48E2 slices
  parameter int unsigned OVERLAP = 1,    // 1: the next image starts while the last pixels finish
  // derived
  parameter int unsigned VW     = (IMG != 0) ? 8 : TM,
  parameter int unsigned IN_W   = CIN * VW,          // input map word
  parameter int unsigned OUT_W  = COUT * TM,         // output map word
  parameter int unsigned HW     = MAX_H * MAX_W,
  parameter int unsigned PW     = $clog2(HW + 1),    // pixel index
  parameter int unsigned YW     = $clog2(MAX_H + 1),
  parameter int unsigned XW     = $clog2(MAX_W + 1),
  parameter int unsigned NROW   = 9 * CIN,           // weight rows
  parameter int unsigned RW     = $clog2(NROW)
) (
  input  wire                   clk_i,
  input  wire                   rst_ni,
  // ---- configuration (static while running) ----
  input  wire [XW-1:0]          w_i,          // map width (= output width; rows end there)
  input  wire [PW-1:0]          hw_i,         // h * w
  input  wire [$clog2(COUT+1)-1:0] cout_i,    // output channels of the layer
  input  wire [4:0]             t_steps_i,    // T
  input  wire                   pool_i,       // a 2x2 OR-pool is folded into the write
  input  wire [YW-1:0]          out_h_i,      // height of the written map (pooled: h/2)
  input  wire [XW-1:0]          out_w_i,
  // ---- model load ----
  input  wire                   wl_en_i,      // weight row write
  input  wire [RW-1:0]          wl_row_i,     // ci*9 + ky*3 + kx
  input  wire [COUT*8-1:0]      wl_data_i,
  input  wire                   tl_en_i,      // threshold + polarity write of one neuron
  input  wire [$clog2(COUT)-1:0] tl_ch_i,
  input  wire [PW-1:0]          tl_pix_i,
  input  wire [31:0]            tl_th_i,
  input  wire                   tl_pol_i,
  input  wire                   bl_en_i,      // bias write
  input  wire [$clog2(COUT)-1:0] bl_ch_i,
  input  wire [31:0]            bl_data_i,
  // ---- per image ----
  input  wire                   start_i,      // input map half holds the image; output half is free
  input  wire [1:0]             in_img_i,     // with start_i: {tag, half} of the image in the input map
  input  wire [1:0]             out_img_i,    // with start_i: {tag, half} it is written to
  output logic                  start_ready_o,// start_i is taken now
  output logic                  busy_o,       // an image is in flight
  output logic                  done_o,       // one-cycle pulse per image, in start order; counters valid
  output logic [31:0]           events_o,     // firing inputs x taps reached x out_c
  output logic [31:0]           synops_o,     // spikes x taps reached x out_c (layer 0: nonzero pixels ...)
  output logic [31:0]           spikes_o,     // this layer's spikes over T
  output logic [31:0]           pool_spikes_o,// the folded pool's spikes over T
  // ---- input map (banked, read by this stage) ----
  output logic                  rd_valid_o,
  output logic [YW-1:0]         rd_y_o,
  output logic [XW-1:0]         rd_x_o,
  output logic [1:0]            rd_img_o,     // {tag, half} of the read
  input  wire [9*IN_W-1:0]      rd_patch_i,   // one cycle after rd_valid_o
  // ---- output map (written by this stage) ----
  output logic                  wr_valid_o,
  output logic [YW-1:0]         wr_y_o,
  output logic [XW-1:0]         wr_x_o,
  output logic [OUT_W-1:0]      wr_data_o,
  output logic                  wr_or_o,
  output logic [1:0]            wr_img_o,     // {tag, half} of the write
  input  wire                   wr_newbits_valid_i,  // from the map: bits set 0 -> 1 by a write
  input  wire [$clog2(OUT_W+1)-1:0] wr_newbits_i,
  // ---- trace tap: every output pixel's unpooled LIF output ----
  output logic                  tr_valid_o,
  output logic [PW-1:0]         tr_pix_o,     // y * w + x
  output logic [OUT_W-1:0]      tr_data_o
);

  localparam int unsigned TAGW   = 1 + YW + XW + PW;    // {image slot, y, x, pixel}
  localparam int unsigned NCOPY  = (E + 1) / 2;
  localparam int unsigned ACCB   = COUT * TM * ACC_W;
  localparam int unsigned EW     = (E > 1) ? $clog2(E) : 1;
  localparam int unsigned NIW    = $clog2(NROW + 1);
  localparam int unsigned NSW    = $clog2(NROW * TM + 1);  // the engine's n_setbits_o width
  // cycles to drain the LIF unit and the write after the last grant (serial:
  // up to T + 1 cycles in the hand-off register, T + 3 in the unit)
  localparam int unsigned LIF_TAIL = (LIF_SERIAL != 0) ? 3 * TM + 12 : 2 * TM + 8;

  // ---- patch fetch ---------------------------------------------------------
  logic          run_q;          // reading the patches of an image
  logic          fslot_q;        // its slot
  logic [1:0]    fimg_q;         // its input {tag, half}
  logic [YW-1:0] fy_q;
  logic [XW-1:0] fx_q;
  logic [PW-1:0] fp_q;           // next pixel to read
  logic          inflight_q;     // a read returns this cycle
  logic [TAGW-1:0] inflight_tag_q;
  // two-slot patch buffer
  logic [9*IN_W-1:0] slot_patch_q [2];
  logic [TAGW-1:0]   slot_tag_q   [2];
  logic [1:0]        slot_full_q;
  logic              slot_head_q;   // oldest slot

  logic [1:0] n_full;
  assign n_full = {1'b0, slot_full_q[0]} + {1'b0, slot_full_q[1]};

  // A read is issued when its patch (back next cycle) finds a free slot: the
  // slots held next cycle are the full ones, less the one dispatched now,
  // plus the read in flight. Counting the dispatch sustains one patch per
  // cycle (without it the fetch stalls every third cycle).
  logic read_now;
  logic dispatch;
  assign rd_valid_o = read_now;
  assign rd_y_o     = fy_q;
  assign rd_x_o     = fx_q;
  assign rd_img_o   = fimg_q;

  // ---- engines -------------------------------------------------------------
  logic [E-1:0]        eng_ready, eng_valid_in, eng_acc_valid, eng_acc_ready;
  logic [E-1:0]        eng_w_en;
  logic [RW-1:0]       eng_w_addr [E];
  logic [COUT*8-1:0]   eng_w_data [E];
  logic [ACCB-1:0]     eng_acc    [E];
  logic [TAGW-1:0]     eng_tag    [E];
  logic [NIW-1:0]      eng_issued [E];
  logic [NSW-1:0]      eng_setbits[E];

  // dispatch: the head slot goes to the lowest idle engine
  logic          head_full;
  logic [EW-1:0] disp_idx;
  logic          disp_any;
  assign head_full = slot_full_q[slot_head_q];
  always_comb begin
    disp_any = 1'b0;
    disp_idx = '0;
    for (int e = E - 1; e >= 0; e--)
      if (eng_ready[e]) begin
        disp_any = 1'b1;
        disp_idx = EW'(e);
      end
  end
  assign dispatch = head_full && disp_any;
  assign read_now = run_q && (fp_q < hw_i)
                 && ({1'b0, n_full} + {2'b0, inflight_q} < 3'd2 + {2'b0, dispatch});
  always_comb begin
    eng_valid_in = '0;
    if (dispatch) eng_valid_in[disp_idx] = 1'b1;
  end

  for (genvar e = 0; e < E; e++) begin : g_eng
    snn_conv_engine #(
      .CIN(CIN), .COUT(COUT), .TM(TM), .IMG(IMG), .ACC_W(ACC_W), .TAG_W(TAGW), .ACC_DSP(ACC_DSP)
    ) u_eng (
      .clk_i, .rst_ni,
      .patch_valid_i(eng_valid_in[e]),
      .patch_ready_o(eng_ready[e]),
      .patch_i(slot_patch_q[slot_head_q]),
      .tag_i(slot_tag_q[slot_head_q]),
      .w_en_o(eng_w_en[e]),
      .w_addr_o(eng_w_addr[e]),
      .w_data_i(eng_w_data[e]),
      .acc_valid_o(eng_acc_valid[e]),
      .acc_ready_i(eng_acc_ready[e]),
      .acc_o(eng_acc[e]),
      .tag_o(eng_tag[e]),
      .n_issued_o(eng_issued[e]),
      .n_setbits_o(eng_setbits[e])
    );
  end

  // weight RAM copies: engine 2k on port A, 2k+1 on port B; loads on port A
  for (genvar k = 0; k < NCOPY; k++) begin : g_wram
    localparam int unsigned EA = 2 * k, EB = 2 * k + 1;
    /* verilator lint_off UNUSEDSIGNAL */  // (unused in the last copy when E is odd)
    logic [COUT*8-1:0] rdata_b;
    /* verilator lint_on UNUSEDSIGNAL */
    snn_ram_tdp #(.WIDTH(COUT * 8), .DEPTH(NROW)) u_wram (
      .clk_i,
      .we_a_i(wl_en_i),
      .re_a_i(eng_w_en[EA]),
      .addr_a_i(wl_en_i ? wl_row_i : eng_w_addr[EA]),
      .wdata_a_i(wl_data_i),
      .rdata_a_o(eng_w_data[EA]),
      .re_b_i(EB < E ? eng_w_en[EB < E ? EB : EA] : 1'b0),
      .addr_b_i(eng_w_addr[EB < E ? EB : EA]),
      .rdata_b_o(rdata_b)
    );
    if (EB < E) begin : g_b
      assign eng_w_data[EB] = rdata_b;
    end
  end

  // ---- hand-off to the LIF unit (round robin) --------------------------------
  // The first engine with a result after the one granted last (rr_mask_q:
  // bit e set for the engines after it), else the first one, when the
  // hand-off register into the LIF unit is free or freed now. The grant is
  // one-hot and the hand-off an AND-OR of the engines' registers: a binary
  // index into the engines' results (`eng_acc[grant_idx]`) is mapped by
  // synthesis to a shifter over all E x ACCB bits, several times larger.
  logic [E-1:0]  rr_mask_q;
  logic [E-1:0]  gnt;            // one-hot
  logic [EW-1:0] grant_idx;
  logic          grant_any;
  logic          lif_ready;      // the LIF unit takes the hand-off register this cycle
  logic          lif_in_valid_q;
  wire           hand_free = !lif_in_valid_q || lif_ready;
  always_comb begin
    logic [E-1:0] req_hi;
    logic         seen_hi, seen;
    logic [E-1:0] g_hi, g_lo;
    req_hi  = eng_acc_valid & rr_mask_q;
    seen_hi = 1'b0;
    seen    = 1'b0;
    for (int e = 0; e < int'(E); e++) begin
      g_hi[e] = req_hi[e] && !seen_hi;
      g_lo[e] = eng_acc_valid[e] && !seen;
      seen_hi = seen_hi || req_hi[e];
      seen    = seen || eng_acc_valid[e];
    end
    grant_any = seen && hand_free;
    gnt       = !hand_free ? '0 : seen_hi ? g_hi : g_lo;
    grant_idx = '0;
    for (int e = 0; e < int'(E); e++)
      if (gnt[e]) grant_idx = grant_idx | EW'(e);
  end
  assign eng_acc_ready = gnt;

  // registered AND-OR into the LIF unit, with the counts of the granted pixel
  logic [ACCB-1:0]   lif_in_acc_q;
  logic [TAGW-1:0]   lif_in_tag_q;
  logic [NIW-1:0]    gnt_issued;
  logic [NSW-1:0]    gnt_setbits;
  logic              gnt_slot;       // the granted pixel's image slot
  always_comb begin
    gnt_issued  = '0;
    gnt_setbits = '0;
    gnt_slot    = 1'b0;
    for (int e = 0; e < int'(E); e++)
      if (gnt[e]) begin
        gnt_issued  = gnt_issued  | eng_issued[e];
        gnt_setbits = gnt_setbits | eng_setbits[e];
        gnt_slot    = gnt_slot    | eng_tag[e][TAGW-1];
      end
  end
  always_ff @(posedge clk_i) begin
    logic [ACCB-1:0] a;
    logic [TAGW-1:0] tg;
    if (grant_any) begin   // (the mux formed only when used: a simulator skips it)
      a  = '0;
      tg = '0;
      for (int e = 0; e < int'(E); e++)
        if (gnt[e]) begin   // (an AND-OR: no replicated masks for a simulator to build)
          a  = a  | eng_acc[e];
          tg = tg | eng_tag[e];
        end
      lif_in_acc_q <= a;
      lif_in_tag_q <= tg;
    end
  end

  // thresholds: one 33-bit RAM per output channel
  logic              th_en;
  logic [PW-1:0]     th_addr;
  logic [COUT*32-1:0] th_data;
  logic [COUT-1:0]   th_pol;
  for (genvar c = 0; c < COUT; c++) begin : g_th
    logic [32:0] q;
    snn_ram #(.WIDTH(33), .DEPTH(HW)) u_th (
      .clk_i,
      .we_i(tl_en_i && tl_ch_i == $clog2(COUT)'(c)),
      .waddr_i($clog2(HW)'(tl_pix_i)),
      .wdata_i({tl_pol_i, tl_th_i}),
      .re_i(th_en),
      .raddr_i($clog2(HW)'(th_addr)),
      .rdata_o(q)
    );
    assign th_data[c*32 +: 32] = q[31:0];
    assign th_pol[c]           = q[32];
  end

  logic [COUT*32-1:0] bias_q;
  always_ff @(posedge clk_i)
    if (bl_en_i) bias_q[bl_ch_i*32 +: 32] <= bl_data_i;

  logic              lif_valid;
  logic [OUT_W-1:0]  lif_spikes;
  logic [TAGW-1:0]   lif_tag;
  logic [$clog2(OUT_W+1)-1:0] lif_nspikes;
  if (LIF_SERIAL != 0) begin : g_lif_serial
    snn_lif_serial #(
      .COUT(COUT), .TM(TM), .ACC_W(ACC_W), .IMG(IMG), .TAG_W(TAGW), .ADDR_W(PW)
    ) u_lif (
      .clk_i, .rst_ni,
      .valid_i(lif_in_valid_q),
      .ready_o(lif_ready),
      .acc_i(lif_in_acc_q),
      .tag_i(lif_in_tag_q),
      .t_steps_i,
      .cout_i,
      .bias_i(bias_q),
      .th_en_o(th_en),
      .th_addr_o(th_addr),
      .th_data_i(th_data),
      .pol_i(th_pol),
      .valid_o(lif_valid),
      .spikes_o(lif_spikes),
      .tag_o(lif_tag),
      .nspikes_o(lif_nspikes)
    );
  end else begin : g_lif_pipe
    snn_lif_unit #(
      .COUT(COUT), .TM(TM), .ACC_W(ACC_W), .IMG(IMG), .TAG_W(TAGW), .ADDR_W(PW)
    ) u_lif (
      .clk_i, .rst_ni,
      .valid_i(lif_in_valid_q),
      .acc_i(lif_in_acc_q),
      .tag_i(lif_in_tag_q),
      .t_steps_i,
      .cout_i,
      .bias_i(bias_q),
      .th_en_o(th_en),
      .th_addr_o(th_addr),
      .th_data_i(th_data),
      .pol_i(th_pol),
      .valid_o(lif_valid),
      .spikes_o(lif_spikes),
      .tag_o(lif_tag),
      .nspikes_o(lif_nspikes)
    );
    assign lif_ready = 1'b1;
  end

  assign tr_valid_o = lif_valid;
  assign tr_pix_o   = lif_tag[PW-1:0];
  assign tr_data_o  = lif_spikes;

  // ---- write into the next map (pool folded) ---------------------------------
  // per image slot: its output {tag, half}
  logic [1:0]   oimg_q [2];
  wire          lslot = lif_tag[TAGW-1];
  wire [YW-1:0] ly = lif_tag[TAGW-2 -: YW];
  wire [XW-1:0] lx = lif_tag[PW +: XW];
  wire [YW-1:0] wy = pool_i ? (ly >> 1) : ly;
  wire [XW-1:0] wx = pool_i ? (lx >> 1) : lx;
  logic         wr_slot_q;
  always_ff @(posedge clk_i) begin
    if (!rst_ni) wr_valid_o <= 1'b0;
    else wr_valid_o <= lif_valid && wy < out_h_i && wx < out_w_i;
    wr_y_o    <= wy;
    wr_x_o    <= wx;
    wr_data_o <= lif_spikes;
    wr_or_o   <= pool_i;
    wr_img_o  <= oimg_q[lslot];
    wr_slot_q <= lslot;
  end

  // The map returns one new-bit count per write, in order: the slot of each
  // write waits in a small queue for it (at most 5 writes in flight).
  logic       nbq_any, nb_slot;
  /* verilator lint_off UNUSEDSIGNAL */  // (read by the SNN_ASSERT properties only)
  logic       nbq_room;
  logic [3:0] nbq_count;
  /* verilator lint_on UNUSEDSIGNAL */
  wire        nb_pop = wr_newbits_valid_i && nbq_any;
  snn_fifo #(.WIDTH(1), .DEPTH(8)) u_nbq (
    .clk_i, .rst_ni, .clear_i(1'b0),
    .in_valid_i(wr_valid_o), .in_ready_o(nbq_room), .in_data_i(wr_slot_q),
    .out_valid_o(nbq_any), .out_ready_i(wr_newbits_valid_i), .out_data_o(nb_slot),
    .count_o(nbq_count)
  );

  // ---- control and counters --------------------------------------------------
  // Slots: an image takes slot nslot_q at its start and leaves it at its
  // done_o; the oldest one (dslot_q) finishes first. Per slot: in flight,
  // every pixel granted (draining the LIF unit and the write: tail
  // countdown), the pixels granted and the image's counters.
  logic [1:0]     sact_q, sfin_q;
  logic           nslot_q, dslot_q;
  logic [PW-1:0]  granted_q [2];
  logic [7:0]     tail_q    [2];
  logic [31:0]    issued_acc_q [2], setbits_acc_q [2], spikes_acc_q [2], pool_acc_q [2];

  wire start_ok = start_i && start_ready_o;
  assign start_ready_o = !run_q && !sact_q[nslot_q] && (OVERLAP != 0 || sact_q == '0);
  assign busy_o = sact_q != '0;
  wire last_done = sfin_q[dslot_q] && tail_q[dslot_q] == 0;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      run_q          <= 1'b0;
      inflight_q     <= 1'b0;
      slot_full_q    <= '0;
      slot_head_q    <= 1'b0;
      rr_mask_q      <= '0;
      lif_in_valid_q <= 1'b0;
      done_o         <= 1'b0;
      sact_q         <= '0;
      sfin_q         <= '0;
      nslot_q        <= 1'b0;
      dslot_q        <= 1'b0;
    end else begin
      done_o         <= 1'b0;
      if (grant_any)      lif_in_valid_q <= 1'b1;
      else if (lif_ready) lif_in_valid_q <= 1'b0;
      // the engines after the granted one (none after the last: all again)
      if (grant_any)
        for (int e = 0; e < int'(E); e++) rr_mask_q[e] <= (e > int'(grant_idx));

      // patch reads and the two-slot buffer
      inflight_q <= read_now;
      if (read_now) begin
        inflight_tag_q <= {fslot_q, fy_q, fx_q, fp_q};
        fp_q <= fp_q + 1'b1;
        if (fp_q + 1'b1 == hw_i) run_q <= 1'b0;   // the image's last patch
        if (fx_q + 1'b1 == w_i) begin
          fx_q <= '0;
          fy_q <= fy_q + 1'b1;
        end else begin
          fx_q <= fx_q + 1'b1;
        end
      end
      if (dispatch) begin
        slot_full_q[slot_head_q] <= 1'b0;
        slot_head_q <= ~slot_head_q;
      end
      if (inflight_q) begin
        // invariant: a full slot implies a full head; the new patch goes
        // behind the head (or into the head when both are empty)
        logic tgt;
        tgt = slot_full_q[slot_head_q] ? ~slot_head_q : slot_head_q;
        slot_patch_q[tgt] <= rd_patch_i;
        slot_tag_q[tgt]   <= inflight_tag_q;
        slot_full_q[tgt]  <= 1'b1;
      end

      if (start_ok) begin
        run_q          <= 1'b1;
        fy_q           <= '0;
        fx_q           <= '0;
        fp_q           <= '0;
        fslot_q        <= nslot_q;
        fimg_q         <= in_img_i;
        nslot_q        <= ~nslot_q;
        sact_q[nslot_q] <= 1'b1;
      end

      // the last grant of an image starts its drain
      if (grant_any && granted_q[gnt_slot] + 1'b1 == hw_i) sfin_q[gnt_slot] <= 1'b1;

      if (last_done) begin
        sact_q[dslot_q] <= 1'b0;
        sfin_q[dslot_q] <= 1'b0;
        dslot_q         <= ~dslot_q;
        done_o          <= 1'b1;
      end
    end
  end

  // per slot: output {tag, half}, pixels granted, drain countdown, counters
  for (genvar k = 0; k < 2; k++) begin : g_slot
    wire st  = start_ok && nslot_q == 1'(k);
    wire gk  = grant_any && gnt_slot == 1'(k);
    always_ff @(posedge clk_i) begin
      if (st) begin
        oimg_q[k]        <= out_img_i;
        granted_q[k]     <= '0;
        issued_acc_q[k]  <= '0;
        setbits_acc_q[k] <= '0;
        spikes_acc_q[k]  <= '0;
        pool_acc_q[k]    <= '0;
      end else begin
        if (gk) begin
          granted_q[k]     <= granted_q[k] + 1'b1;
          issued_acc_q[k]  <= issued_acc_q[k] + 32'(gnt_issued);
          setbits_acc_q[k] <= setbits_acc_q[k] + 32'(gnt_setbits);
        end
        if (lif_valid && lslot == 1'(k)) spikes_acc_q[k] <= spikes_acc_q[k] + 32'(lif_nspikes);
        if (nb_pop && nb_slot == 1'(k))  pool_acc_q[k]   <= pool_acc_q[k] + 32'(wr_newbits_i);
      end
      if (gk && granted_q[k] + 1'b1 == hw_i) tail_q[k] <= 8'(LIF_TAIL);
      else if (sfin_q[k] && tail_q[k] != 0)  tail_q[k] <= tail_q[k] - 1'b1;
    end
  end

  // counters x out_c of the oldest image (registered with done_o)
  always_ff @(posedge clk_i) begin
    events_o      <= issued_acc_q[dslot_q] * 32'(cout_i);
    synops_o      <= setbits_acc_q[dslot_q] * 32'(cout_i);
    spikes_o      <= spikes_acc_q[dslot_q];
    pool_spikes_o <= pool_acc_q[dslot_q];
  end

`ifdef SNN_ASSERT
  // A patch is read only when a buffer slot will be free for it.
  assert property (@(posedge clk_i) disable iff (!rst_ni) inflight_q |-> !(slot_full_q[0] && slot_full_q[1]));
  // Only one engine receives a patch per cycle; one result is handed off.
  assert property (@(posedge clk_i) disable iff (!rst_ni) $onehot0(eng_valid_in));
  assert property (@(posedge clk_i) disable iff (!rst_ni) $onehot0(gnt));
  assert property (@(posedge clk_i) disable iff (!rst_ni) grant_any == (gnt != '0));
  // Image slots: a start takes a free slot; every patch read, dispatched and
  // granted belongs to an image in flight; an image drains only after its
  // pixels, the oldest first; at most two images in flight.
  assert property (@(posedge clk_i) disable iff (!rst_ni) start_ok |-> !sact_q[nslot_q] && !run_q);
  assert property (@(posedge clk_i) disable iff (!rst_ni) read_now |-> sact_q[fslot_q]);
  assert property (@(posedge clk_i) disable iff (!rst_ni) grant_any |-> sact_q[gnt_slot] && !sfin_q[gnt_slot]);
  assert property (@(posedge clk_i) disable iff (!rst_ni) lif_valid |-> sact_q[lslot]);
  assert property (@(posedge clk_i) disable iff (!rst_ni) (sfin_q & ~sact_q) == '0);
  assert property (@(posedge clk_i) disable iff (!rst_ni) sact_q == 2'b11 |-> nslot_q == dslot_q);
  assert property (@(posedge clk_i) disable iff (!rst_ni) sact_q == '0 |-> nslot_q == dslot_q && !run_q);
  // The new-bit counts come back for the stage's writes only, in order.
  assert property (@(posedge clk_i) disable iff (!rst_ni) nbq_count < 4'd6 && nbq_room);
  assert property (@(posedge clk_i) disable iff (!rst_ni) wr_newbits_valid_i && busy_o |-> nbq_any);
`endif

endmodule
