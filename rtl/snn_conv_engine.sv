// snn_conv_engine - the engine of a conv stage (docs/rtl-pipeline.md): one
// output pixel, all COUT output channels x TM steps of accumulators in
// registers.
//
// A patch holds N = 9 * CIN entries, entry e = tap*CIN + ci (tap = ky*3 + kx)
// at patch_i[e*VW +: VW]: a TM-bit spike vector (IMG = 0) or an 8-bit
// unsigned pixel (IMG = 1). Zero entries (outside the map, ci >= in_c, silent
// inputs) cost nothing. On accept the patch is stored in weight-row order,
// row r = ci*9 + tap (the deploy image stores weights [ci][ky][kx][co]),
// together with its nonzero mask. Then every cycle the lowest remaining row is
// read from the weight RAM (w_en_o, w_addr_o = r) and cleared from the mask;
// the row arrives one cycle later (registered RAM) and is added:
//
//   IMG = 0: acc[co][t] += w[co]            for every step t set in the vector
//   IMG = 1: acc[co][0] += pixel * w[co]    uint8 x int8, one current for all
//                                           steps (acc[co][t > 0] stay zero)
//
// Accumulators wrap in two's complement; the loader proves they never do.
//
// Timing, k = nonzero entries of the patch, cycle 0 = the accept cycle
// (patch_valid_i && patch_ready_o):
//
//   cycles 1 .. k   one weight row read per cycle, back to back
//   cycle  k + 1    the last add (none when k = 0); the accumulators, tag and
//                   counts move into the hand-off register, the accumulators
//                   clear, and patch_ready_o is high: the next patch is
//                   accepted in this same cycle
//   cycle  k + 2    acc_valid_o (held until acc_ready_i)
//
// An engine fed continuously takes one pixel per k + 1 cycles (one cycle for
// an empty patch), provided the hand-off register is free by then: its
// result accepted no later than the cycle the next one moves in. The move
// waits while the hand-off register holds an unaccepted result.
// patch_ready_o depends combinationally on acc_ready_i (so that a result
// accepted in the cycle the next one finishes costs no cycle); no other
// output depends on an input in the same cycle.
//
// ACC_DSP = 1 (spiking input, ACC_W <= 24) keeps the accumulators in DSP48E2
// slices instead of LUTs and registers (snn_dsp_acc2: channels 2j and 2j+1 of
// step t share one slice, both enabled by bit t of the row's vector): the
// sum of the last add is in the slices' P register one cycle later, so the
// result moves into the hand-off register in cycle k + 2 and acc_valid_o is
// high from cycle k + 3. The pixel's first add starts from 0 (no clearing
// cycle); a pixel without adds hands off zeros. The next patch is still
// accepted in cycle k + 1, unless the previous result is still moving
// (back-to-back pixels of at most one row: one cycle more).
//
// The row picker is two-level, so that its depth grows with log(N) and not
// with N: groups of GS rows, a registered "group has rows left" flag per
// group, the lowest row of every group found in parallel and the lowest
// non-empty group selecting one of them. w_addr_o leaves through that
// logic (no register), the RAM registers it.
`default_nettype none

module snn_conv_engine #(
  parameter int unsigned CIN   = 32,     // input channels (maximum)
  parameter int unsigned COUT  = 32,     // output channels held
  parameter int unsigned TM    = 8,      // time steps (maximum)
  parameter int unsigned IMG   = 0,      // 1: entries are 8-bit pixels
  parameter int unsigned ACC_W = 24,     // accumulator bits
  parameter int unsigned TAG_W = 16,     // opaque tag carried with the result
  parameter int unsigned ACC_DSP = 0,    // 1: accumulators in DSP48E2 slices (IMG = 0, ACC_W <= 24)
  // derived
  parameter int unsigned VW    = (IMG != 0) ? 8 : TM,       // bits per patch entry
  parameter int unsigned N     = 9 * CIN,              // patch entries = weight rows
  parameter int unsigned AW    = $clog2(N),
  parameter int unsigned NIW   = $clog2(N + 1),
  parameter int unsigned NSW   = $clog2(N * TM + 1)
) (
  input  wire                        clk_i,
  input  wire                        rst_ni,
  // ---- patch in ----
  input  wire                        patch_valid_i,
  output logic                       patch_ready_o,
  input  wire [N*VW-1:0]             patch_i,
  input  wire [TAG_W-1:0]            tag_i,
  // ---- weight RAM read port (registered read) ----
  output logic                       w_en_o,
  output logic [AW-1:0]              w_addr_o,      // ci*9 + tap
  input  wire [COUT*8-1:0]           w_data_i,      // one cycle after w_en_o
  // ---- result (hand-off register) ----
  output logic                       acc_valid_o,
  input  wire                        acc_ready_i,
  output logic [COUT*TM*ACC_W-1:0]   acc_o,         // acc[co][t] at (co*TM + t)*ACC_W
  output logic [TAG_W-1:0]           tag_o,
  output logic [NIW-1:0]             n_issued_o,    // nonzero entries of the patch
  output logic [NSW-1:0]             n_setbits_o    // their set bits (IMG = 1: = n_issued_o)
);

  localparam int unsigned GS  = 8;                   // rows per picker group (a power of two)
  localparam int unsigned GSW = 3;                   // log2(GS); AW >= GSW since N >= 9
  localparam int unsigned NG  = (N + GS - 1) / GS;   // picker groups
  localparam int unsigned NP  = NG * GS;             // rows padded to whole groups

  // ---- state ---------------------------------------------------------------
  logic                               busy_q;     // holds a pixel (accepted, not handed off)
  logic [VW-1:0]                      vec_q [NP]; // the patch, row r (rows >= N: zero)
  logic [N-1:0]                       mask_q;     // rows still to read
  logic [NG-1:0]                      gnz_q;      // group g has rows left
  logic [TAG_W-1:0]                   tag_q;
  logic [NIW-1:0]                     nis_q;
  logic [NSW-1:0]                     nsb_q;
  logic [VW-1:0]                      add_vec_q;  // vector / pixel of the row in w_data_i
                                                  // (zero when no row was read: nothing is added)
  // hand-off register
  logic                               hv_q;
  logic [COUT*TM*ACC_W-1:0]           hacc_q;
  logic [TAG_W-1:0]                   htag_q;
  logic [NIW-1:0]                     hnis_q;
  logic [NSW-1:0]                     hnsb_q;

  // ---- the incoming patch in row order -------------------------------------
  // row r = ci*9 + tap holds patch entry tap*CIN + ci, at bit entry_lsb(r) of
  // patch_i. (An offset, not a function of the patch: a simulator passes a
  // function's argument by value, a copy of the whole patch per row.)
  function automatic int unsigned entry_lsb(input int unsigned r);
    entry_lsb = ((r % 9) * CIN + r / 9) * VW;
  endfunction

  // ---- row picker ------------------------------------------------------------
  // Each group's lowest row is m & -m of its GS mask bits (a GS-bit carry
  // chain), its index the encoded one-hot, its vector read at that index; the
  // lowest group with rows left is gnz & -gnz. Word operations throughout, so
  // that a simulator evaluates a few per group instead of a loop per row.
  localparam logic [GS-1:0] IDX_BIT0 = 8'hAA, IDX_BIT1 = 8'hCC, IDX_BIT2 = 8'hF0; // GS = 8
  logic [NP-1:0]     mask_pad;
  logic [NP-1:0]     loh;      // [g*GS +: GS]: lowest row left in group g (one-hot)
  logic [NG*GSW-1:0] lidx;     // [g*GSW +: GSW]: its index in the group
  logic [NG*VW-1:0]  lvec;     // [g*VW +: VW]: its vector
  logic [NG-1:0]     lmulti;   // group g has more than that one row left
  always_comb begin
    logic [GS-1:0]  m, oh;
    logic [GSW-1:0] ix;
    mask_pad = NP'(mask_q);
    for (int g = 0; g < int'(NG); g++) begin
      m  = mask_pad[g*GS +: GS];
      oh = m & (~m + GS'(1));
      ix = {|(oh & IDX_BIT2), |(oh & IDX_BIT1), |(oh & IDX_BIT0)};
      loh[g*GS +: GS]    = oh;
      lmulti[g]          = (m & ~oh) != '0;   // (no second carry chain)
      lidx[g*GSW +: GSW] = ix;
      lvec[g*VW +: VW]   = vec_q[g*GS + int'(ix)];
    end
  end

  logic [NG-1:0] gsel;                  // lowest group with rows left (one-hot)
  logic [AW-1:0] row;
  logic [VW-1:0] vsel;
  /* verilator lint_off UNUSEDSIGNAL */  // (the padding rows, never set)
  logic [NP-1:0] clr_pad;               // the row read now
  /* verilator lint_on UNUSEDSIGNAL */
  logic [N-1:0]  clr;
  always_comb begin
    gsel    = gnz_q & (~gnz_q + NG'(1));
    row     = '0;
    vsel    = '0;
    clr_pad = '0;
    for (int g = 0; g < int'(NG); g++) begin   // row = g*GS + lidx: disjoint bits
      row  = row | ({AW{gsel[g]}} & (AW'(g * GS) | AW'(lidx[g*GSW +: GSW])));
      vsel = vsel | ({VW{gsel[g]}} & lvec[g*VW +: VW]);
      clr_pad[g*GS +: GS] = {GS{gsel[g]}} & loh[g*GS +: GS];
    end
    clr = clr_pad[N-1:0];
  end

  // ---- control ---------------------------------------------------------------
  logic move_q;                         // ACC_DSP: the result moves into the hand-off register now
  wire empty  = (gnz_q == '0);
  wire issue  = busy_q && !empty;
  wire hfree  = (!hv_q || acc_ready_i) && !(ACC_DSP != 0 && move_q);
  wire finish = busy_q && empty && hfree;   // the last add (if any) is this cycle
  assign patch_ready_o = !busy_q || finish;
  wire accept = patch_valid_i && patch_ready_o;

  assign w_en_o   = issue;
  assign w_addr_o = row;

  // set bits of the row being added (counted a cycle after its read, off
  // the picker's path); nsb_d includes it
  logic [NSW-1:0] vbits, nsb_d;
  always_comb begin
    vbits = '0;
    if (IMG != 0) vbits = NSW'(add_vec_q != '0);
    else for (int t = 0; t < VW; t++) vbits = vbits + NSW'(add_vec_q[t]);
    nsb_d = nsb_q + vbits;
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      busy_q <= 1'b0;
      gnz_q  <= '0;
      hv_q   <= 1'b0;
    end else begin
      if (accept) begin
        logic [NP-1:0] nz;
        nz = '0;
        for (int r = 0; r < int'(N); r++) nz[r] = patch_i[entry_lsb(r) +: VW] != '0;
        busy_q <= 1'b1;
        for (int g = 0; g < int'(NG); g++) gnz_q[g] <= |nz[g*GS +: GS];
      end else begin
        if (finish) busy_q <= 1'b0;
        if (issue)
          for (int g = 0; g < NG; g++)
            if (gsel[g]) gnz_q[g] <= lmulti[g];
      end
      if (ACC_DSP != 0 ? move_q : finish) hv_q <= 1'b1;
      else if (acc_ready_i)               hv_q <= 1'b0;
    end
  end

  // patch, mask, counts (no reset needed: gnz_q gates the mask). gnz_q is
  // zero whenever the engine is not busy, so vsel is zero unless a row is
  // read: add_vec_q alone decides whether (and where) w_data_i is added.
  always_ff @(posedge clk_i) begin
    if (!rst_ni) add_vec_q <= '0;
    else         add_vec_q <= vsel;
    if (accept) begin
      for (int r = 0; r < int'(N); r++) mask_q[r] <= patch_i[entry_lsb(r) +: VW] != '0;
      tag_q  <= tag_i;
      nis_q  <= '0;
      nsb_q  <= '0;
    end else begin
      nsb_q <= nsb_d;
      if (issue) begin
        mask_q <= mask_q & ~clr;
        nis_q  <= nis_q + 1'b1;
      end
    end
  end

  // ---- accumulators ------------------------------------------------------------
  logic [COUT*TM*ACC_W-1:0] acc_fin;    // the pixel's sums, into the hand-off register
  if (ACC_DSP == 0) begin : g_acc_lut
    // acc[co][t] at index co*TM + t. Unpacked (one word per accumulator), so
    // that a simulator updates each with a native add; the hand-off register
    // is the packed form, written only when a pixel finishes.
    logic signed [ACC_W-1:0] acc_q [COUT*TM], acc_d [COUT*TM];
    if (IMG != 0) begin : g_img
      // one uint8 x int8 product per channel, into step 0 (pixel 0: adds 0)
      always_comb begin
        logic signed [16:0] prod;
        for (int i = 0; i < int'(COUT * TM); i++) acc_d[i] = '0;
        for (int co = 0; co < int'(COUT); co++) begin
          prod = $signed({1'b0, add_vec_q}) * $signed(w_data_i[co*8 +: 8]);
          acc_d[co*TM] = acc_q[co*TM] + ACC_W'(prod);
        end
      end
    end else begin : g_spk
      // every set step adds the sign-extended weight (the enable gates the
      // operand, so it folds into the adder's LUTs)
      always_comb begin
        for (int co = 0; co < int'(COUT); co++)
          for (int t = 0; t < int'(TM); t++)
            acc_d[co*TM + t] = acc_q[co*TM + t]
                + (add_vec_q[t] ? ACC_W'($signed(w_data_i[co*8 +: 8])) : ACC_W'(0));
      end
    end

    // (per element: one always_ff each, as Verilator 5.006 has no delayed
    // assignment to an array element inside a loop)
    for (genvar i = 0; i < int'(COUT * TM); i++) begin : g_accq
      always_ff @(posedge clk_i) acc_q[i] <= (!rst_ni || finish) ? '0 : acc_d[i];
    end
    always_comb
      for (int i = 0; i < int'(COUT * TM); i++) acc_fin[i*ACC_W +: ACC_W] = acc_d[i];
    assign move_q = 1'b0;
  end else begin : g_acc_dsp
    // a row is added this cycle (w_data_i holds it); the pixel's first add
    // starts from 0; had_q: the pixel moving had adds (else it hands off 0)
    logic radd_q, first_q, had_q, mv_q;
    always_ff @(posedge clk_i) begin
      if (!rst_ni) begin
        radd_q <= 1'b0;
        mv_q   <= 1'b0;
      end else begin
        radd_q <= issue;
        mv_q   <= finish;
      end
      if (accept)      first_q <= 1'b1;
      else if (radd_q) first_q <= 1'b0;
      if (finish)      had_q <= nis_q != '0;
    end
    assign move_q = mv_q;
    for (genvar j = 0; j < int'((COUT + 1) / 2); j++) begin : g_pair
      localparam int unsigned C0 = 2 * j, C1 = 2 * j + 1;
      wire [23:0] a_lo = 24'($signed(w_data_i[C0*8 +: 8]));
      wire [23:0] a_hi = (C1 < COUT) ? 24'($signed(w_data_i[(C1 < COUT ? C1 : C0)*8 +: 8])) : 24'd0;
      for (genvar t = 0; t < int'(TM); t++) begin : g_step
        /* verilator lint_off UNUSEDSIGNAL */  // (the lanes' bits above ACC_W)
        logic [23:0] p_lo, p_hi;
        /* verilator lint_on UNUSEDSIGNAL */
        snn_dsp_acc2 u_acc (
          .clk_i, .ce_i(radd_q), .load_i(first_q), .x_en_i(add_vec_q[t]),
          .a_lo_i(a_lo), .a_hi_i(a_hi), .p_lo_o(p_lo), .p_hi_o(p_hi)
        );
        assign acc_fin[(C0*TM + t)*ACC_W +: ACC_W] = had_q ? p_lo[ACC_W-1:0] : '0;
        if (C1 < COUT) begin : g_hi
          assign acc_fin[(C1*TM + t)*ACC_W +: ACC_W] = had_q ? p_hi[ACC_W-1:0] : '0;
        end else begin : g_pad
          logic unused_hi;
          assign unused_hi = ^p_hi;
        end
      end
    end
    if (IMG != 0 || ACC_W > 24) begin : g_bad_dsp
      $error("snn_conv_engine: ACC_DSP needs spiking input (IMG = 0) and ACC_W <= 24");
    end
  end

  for (genvar r = 0; r < int'(NP); r++) begin : g_vecq
    if (r < int'(N)) begin : g_row
      always_ff @(posedge clk_i) if (accept) vec_q[r] <= patch_i[entry_lsb(r) +: VW];
    end else begin : g_pad
      assign vec_q[r] = '0;
    end
  end

  always_ff @(posedge clk_i) begin
    if (ACC_DSP != 0 ? move_q : finish) hacc_q <= acc_fin;
    if (finish) begin
      htag_q <= tag_q;
      hnis_q <= nis_q;
      hnsb_q <= nsb_d;
    end
  end

  assign acc_valid_o = hv_q;
  assign acc_o       = hacc_q;
  assign tag_o       = htag_q;
  assign n_issued_o  = hnis_q;
  assign n_setbits_o = hnsb_q;

`ifdef SNN_ASSERT
  logic add_q;   // w_data_i holds the row read last cycle
  always_ff @(posedge clk_i) add_q <= rst_ni && w_en_o;
  // Rows are picked only while busy (so add_vec_q is zero unless a row was read).
  assert property (@(posedge clk_i) disable iff (!rst_ni) !busy_q |-> gnz_q == '0);
  assert property (@(posedge clk_i) disable iff (!rst_ni) !add_q |-> add_vec_q == '0);
  // A patch is taken only by an idle engine, or by one whose pixel has no row
  // left to read and whose result moves into a free hand-off register now.
  assert property (@(posedge clk_i) disable iff (!rst_ni)
    (patch_valid_i && patch_ready_o) |-> (!busy_q || (gnz_q == '0 && !w_en_o && (!hv_q || acc_ready_i))));
  // w_data_i is used exactly in the cycle after a read.
  assert property (@(posedge clk_i) disable iff (!rst_ni) add_q == $past(w_en_o));
  // The hand-off register is never overwritten while it holds an unaccepted
  // result (its contents load only on finish) and stays valid until accepted.
  assert property (@(posedge clk_i) disable iff (!rst_ni) (hv_q && !acc_ready_i) |-> !finish);
  assert property (@(posedge clk_i) disable iff (!rst_ni) $past(hv_q && !acc_ready_i) |-> hv_q);
  // ACC_DSP: the result moves into a free hand-off register, and no add
  // touches the slices in the cycle it moves.
  assert property (@(posedge clk_i) disable iff (!rst_ni) (ACC_DSP != 0 && move_q) |-> !hv_q);
  assert property (@(posedge clk_i) disable iff (!rst_ni) (ACC_DSP != 0 && move_q) |-> !add_q);
`endif

endmodule
