// tb_conv_engine - self-checking testbench of snn_conv_engine, the engine of
// a conv stage (docs/rtl-pipeline.md), at eight parameter sets: spiking input
// (IMG = 0) and image input (IMG = 1), patches of 1 to 18 picker groups,
// T = 1 .. 8, and two accumulator widths narrow enough to wrap.
//
// Each instance has a weight RAM model with a registered read (random int8
// rows including -127 and 127, reloaded between phases; garbage on the read
// bus in cycles without a read) and runs phases of random patches: densities
// 0%, 5%, 50%, 100% and mixed, T-bit vectors random / all ones / single bits,
// pixels 0..255, edge taps and channels >= in_c zeroed, with and without
// valid gaps and ~20% acc_ready back-pressure. Every result (acc per (co, t),
// tag, n_issued, n_setbits) is compared with docs/numerics.md computed here,
// and the timing is checked: without back-pressure the result is valid
// exactly issued + 2 cycles after the accept, and a continuously fed engine
// takes its next patch at most max(1, issued) + 1 cycles after the last
// (accumulators in DSP slices: issued + 3 or + 4, and one cycle more).
// Exit status: 0 pass, non-zero fail.
`timescale 1ns/1ps
`default_nettype none

module tb_conv_engine_run #(
  parameter int unsigned CIN    = 5,
  parameter int unsigned COUT   = 7,
  parameter int unsigned TM     = 8,
  parameter int unsigned IMG    = 0,
  parameter int unsigned ACC_W  = 24,
  parameter int unsigned TAG_W  = 16,
  parameter int unsigned ACC_DSP = 0,     // accumulators in DSP slices: results one cycle later
  parameter int unsigned NPATCH = 1000,   // patches over all phases
  parameter string       NAME   = "?"
) (
  input  wire clk,
  input  wire rst_n,
  output bit  done,
  output int  patches,
  output int  inputs
);
  localparam int unsigned VW   = (IMG != 0) ? 8 : TM;
  localparam int unsigned N    = 9 * CIN;
  localparam int unsigned AW   = $clog2(N);
  localparam int unsigned NIW  = $clog2(N + 1);
  localparam int unsigned NSW  = $clog2(N * TM + 1);
  localparam int unsigned ACCB = COUT * TM * ACC_W;

  logic              pvalid = 1'b0, aready = 1'b1;
  logic              pready, w_en, avalid;
  logic [N*VW-1:0]   patch = '0;
  logic [TAG_W-1:0]  tag = '0, tag_o;
  logic [AW-1:0]     w_addr;
  logic [COUT*8-1:0] w_data;
  logic [ACCB-1:0]   acc;
  logic [NIW-1:0]    nis;
  logic [NSW-1:0]    nsb;

  snn_conv_engine #(
    .CIN(CIN), .COUT(COUT), .TM(TM), .IMG(IMG), .ACC_W(ACC_W), .TAG_W(TAG_W), .ACC_DSP(ACC_DSP)
  ) dut (
    .clk_i(clk), .rst_ni(rst_n),
    .patch_valid_i(pvalid), .patch_ready_o(pready), .patch_i(patch), .tag_i(tag),
    .w_en_o(w_en), .w_addr_o(w_addr), .w_data_i(w_data),
    .acc_valid_o(avalid), .acc_ready_i(aready), .acc_o(acc), .tag_o(tag_o),
    .n_issued_o(nis), .n_setbits_o(nsb)
  );

  // ---- weight RAM: row ci*9 + tap, channel co at [co*8 +: 8]; registered read
  int wmem [N][COUT];
  always @(posedge clk) begin
    if (w_en) begin
      if (int'(w_addr) >= int'(N))
        $fatal(1, "tb_conv_engine[%s]: weight read of row %0d >= %0d", NAME, w_addr, N);
      for (int co = 0; co < COUT; co++) w_data[co*8 +: 8] <= 8'(wmem[w_addr][co]);
    end else begin
      for (int co = 0; co < COUT; co++) w_data[co*8 +: 8] <= 8'($urandom);  // not to be used
    end
  end

  function automatic void load_weights(input int style);
    for (int r = 0; r < int'(N); r++)
      for (int co = 0; co < int'(COUT); co++) begin
        int v;
        unique case (style)
          1:       v = ($urandom_range(0, 1) != 0) ? 127 : -127;
          default: v = ($urandom_range(0, 9) == 0) ? (($urandom_range(0, 1) != 0) ? 127 : -127)
                                                   : int'($urandom_range(0, 254)) - 127;
        endcase
        wmem[r][co] = v;
      end
  endfunction

  // ---- expected results ----
  // (the accumulators in a queue of their own: Verilator 5.006 cannot
  // print an unpacked struct with a wide member)
  typedef struct {
    logic [TAG_W-1:0] tag;
    int               nis, nsb;
    longint           acc_cyc;   // accept cycle
    bit               seen;      // acc_valid seen
  } exp_t;
  exp_t            expq[$];
  logic [ACCB-1:0] expacc[$];

  // a patch of the given density (percent) and vector style, with its result
  function automatic void gen(input int dens, input int vstyle,
                              output logic [N*VW-1:0] p, output exp_t e, output logic [ACCB-1:0] a);
    longint s [COUT][TM];
    int  in_c;
    bit  [8:0] tapok;
    in_c = ($urandom_range(0, 3) == 0) ? int'($urandom_range(1, CIN)) : int'(CIN);
    tapok = '1;
    if ($urandom_range(0, 3) == 0) begin   // an edge or corner pixel
      int ky, kx;
      ky = int'($urandom_range(0, 3));     // 3: no row outside
      kx = int'($urandom_range(0, 3));
      for (int tap = 0; tap < 9; tap++)
        if (tap / 3 == ky || tap % 3 == kx) tapok[tap] = 1'b0;
    end
    for (int co = 0; co < int'(COUT); co++)
      for (int t = 0; t < int'(TM); t++) s[co][t] = 0;
    p = '0;
    e.nis = 0;
    e.nsb = 0;
    for (int en = 0; en < int'(N); en++) begin
      int tap, ci, row;
      logic [VW-1:0] v;
      tap = en / int'(CIN);
      ci  = en % int'(CIN);
      row = ci * 9 + tap;
      v = '0;
      if (ci < in_c && tapok[tap] && int'($urandom_range(0, 99)) < dens) begin
        int st;
        st = (vstyle == 3) ? int'($urandom_range(0, 2)) : vstyle;
        if (IMG != 0) begin
          unique case (st)
            0:       v = VW'($urandom_range(0, 255));     // may be 0: not an input
            1:       v = VW'(255);
            default: v = VW'(($urandom_range(0, 1) != 0) ? 1 : 128);
          endcase
        end else begin
          unique case (st)
            0:       v = VW'($urandom_range(1, (1 << TM) - 1));
            1:       v = '1;
            default: v = VW'(1) << $urandom_range(0, TM - 1);
          endcase
        end
      end
      p[en*VW +: VW] = v;
      if (v != '0) begin
        e.nis++;
        e.nsb += (IMG != 0) ? 1 : $countones(v);
        for (int co = 0; co < int'(COUT); co++)
          if (IMG != 0) s[co][0] += longint'(v) * wmem[row][co];
          else
            for (int t = 0; t < int'(TM); t++)
              if (v[t]) s[co][t] += longint'(wmem[row][co]);
      end
    end
    for (int co = 0; co < int'(COUT); co++)
      for (int t = 0; t < int'(TM); t++)
        a[(co*TM + t)*ACC_W +: ACC_W] = ACC_W'(s[co][t]);   // two's complement wrap
    e.tag = TAG_W'($urandom);
    e.acc_cyc = 0;
    e.seen = 1'b0;
  endfunction

  // ---- the phases ------------------------------------------------------------
  // patches (of NPATCH / 20), density % (-1: mixed), vector style (3: mixed),
  // valid % of cycles, acc_ready low % of cycles, weight style (1: +-127)
  localparam int NPH = 11;
  int ph_n     [NPH] = '{2, 2, 2, 1, 1, 2, 2, 2, 2, 2, 2};
  int ph_dens  [NPH] = '{0, 5, 50, 100, 100, -1, -1, -1, -1, 0, 5};
  int ph_vst   [NPH] = '{3, 0, 0, 1, 2, 3, 3, 3, 3, 3, 3};
  int ph_valid [NPH] = '{100, 100, 100, 100, 100, 100, 70, 100, 60, 100, 90};
  int ph_bp    [NPH] = '{0, 0, 0, 0, 0, 0, 0, 20, 20, 20, 50};
  int ph_w     [NPH] = '{0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0};

  // ---- stimulus and checks, one clock cycle per call -----------------------
  // Inputs change at the falling edge; everything is sampled 1 ns later
  // (after patch_ready_o has settled on the new acc_ready) and takes effect
  // at the next rising edge, which ends cycle `cyc`.
  typedef enum int {S_DRAIN, S_NEXT, S_GAP, S_WAIT, S_END} st_t;
  st_t    st = S_DRAIN;
  int     ph = 0, left = 0, tail = 0;
  longint cyc = 0, wait_cyc = 0;
  longint last_aready_low = -1, last_pvalid_low = -1;
  longint prev_acc_cyc = -1;
  int     prev_k = 0;
  bit     nx_valid = 1'b0;     // the patch presented
  logic [N*VW-1:0] nx_patch;
  exp_t   nx_exp;
  logic [ACCB-1:0] nx_acc;
  int     max_lat_free = 0, n_bound = 0;

  // decide this cycle's inputs (zero-time state transitions)
  function automatic void plan();
    bit decided;
    decided = 1'b0;
    while (!decided) begin
      unique case (st)
        S_DRAIN: begin   // wait for every result, then reload the weights (engine idle)
          nx_valid = 1'b0;
          decided  = 1'b1;
          if (expq.size() == 0) begin
            if (ph == NPH) begin
              st = S_END;
            end else begin
              load_weights(ph_w[ph]);
              left = ph_n[ph] * int'(NPATCH) / 20;
              st = S_NEXT;
              decided = 1'b0;
            end
          end else begin
            wait_cyc++;
            if (wait_cyc > 100000) $fatal(1, "tb_conv_engine[%s]: drain timeout", NAME);
          end
        end
        S_NEXT: begin
          if (left == 0) begin
            ph++;
            wait_cyc = 0;
            st = S_DRAIN;
          end else begin
            int d;
            left--;
            d = (ph_dens[ph] >= 0) ? ph_dens[ph]
              : (int'($urandom_range(0, 3)) == 0) ? 0
              : (int'($urandom_range(0, 2)) == 0) ? 5
              : (int'($urandom_range(0, 1)) == 0) ? 50 : 100;
            gen(d, ph_vst[ph], nx_patch, nx_exp, nx_acc);
            st = S_GAP;
          end
        end
        S_GAP: begin     // valid_pct: present now, else a cycle without valid
          decided = 1'b1;
          if (int'($urandom_range(0, 99)) < ph_valid[ph]) begin
            nx_valid = 1'b1;
            wait_cyc = 0;
            st = S_WAIT;
          end else begin
            nx_valid = 1'b0;
          end
        end
        S_WAIT: begin    // held until accepted
          decided = 1'b1;
          wait_cyc++;
          if (wait_cyc > 100000) $fatal(1, "tb_conv_engine[%s]: patch not taken", NAME);
        end
        default: begin   // S_END: a few idle cycles
          nx_valid = 1'b0;
          decided  = 1'b1;
          tail++;
        end
      endcase
    end
  endfunction

  function automatic void drive();
    aready = (ph >= NPH) || (ph_bp[ph] == 0) || (int'($urandom_range(0, 99)) >= ph_bp[ph]);
    pvalid = nx_valid;
    if (nx_valid) begin
      patch = nx_patch;
      tag   = nx_exp.tag;
    end else begin
      for (int i = 0; i < int'(N*VW); i += 32) patch[i +: 32] = $urandom;   // not to be taken
      tag = TAG_W'($urandom);
    end
  endfunction

  function automatic void sample();
    if (!aready) last_aready_low = cyc;
    if (!pvalid) last_pvalid_low = cyc;
    // result: first valid cycle (latency), transfer (contents)
    if (avalid) begin
      if (expq.size() == 0) $fatal(1, "tb_conv_engine[%s]: unexpected result at cycle %0d", NAME, cyc);
      if (!expq[0].seen) begin
        longint lat;
        expq[0].seen = 1'b1;
        lat = cyc - expq[0].acc_cyc;
        if (last_aready_low < expq[0].acc_cyc) begin
          // (ACC_DSP: one more when the previous result was still moving,
          // which an empty pixel right after another one meets)
          if (lat < longint'(expq[0].nis) + 2 + longint'(ACC_DSP) ||
              lat > longint'(expq[0].nis) + 2 + 2 * longint'(ACC_DSP))
            $fatal(1, "tb_conv_engine[%s]: result %0d cycles after accept, expected issued + %0d = %0d",
                   NAME, lat, 2 + ACC_DSP, expq[0].nis + 2 + int'(ACC_DSP));
          if (int'(lat) > max_lat_free) max_lat_free = int'(lat);
        end else if (lat < longint'(expq[0].nis) + 2 + longint'(ACC_DSP)) begin
          $fatal(1, "tb_conv_engine[%s]: result %0d cycles after accept, before issued + %0d = %0d",
                 NAME, lat, 2 + ACC_DSP, expq[0].nis + 2 + int'(ACC_DSP));
        end
      end
      if (aready) begin
        exp_t e;
        logic [ACCB-1:0] ea;
        e  = expq.pop_front();
        ea = expacc.pop_front();
        if (acc !== ea || tag_o !== e.tag || int'(nis) != e.nis || int'(nsb) != e.nsb) begin
          for (int co = 0; co < int'(COUT); co++)
            for (int t = 0; t < int'(TM); t++)
              if (acc[(co*TM + t)*ACC_W +: ACC_W] !== ea[(co*TM + t)*ACC_W +: ACC_W])
                $display("  acc[%0d][%0d] = %0d, expected %0d", co, t,
                         $signed(acc[(co*TM + t)*ACC_W +: ACC_W]), $signed(ea[(co*TM + t)*ACC_W +: ACC_W]));
          $fatal(1, "tb_conv_engine[%s]: result %0d mismatch: tag %h (exp %h) issued %0d (exp %0d) setbits %0d (exp %0d)",
                 NAME, patches - expq.size() - 1, tag_o, e.tag, nis, e.nis, nsb, e.nsb);
        end
      end
    end
    // patch: accept
    if (pvalid && pready) begin
      exp_t e;
      e = nx_exp;
      e.acc_cyc = cyc;
      expq.push_back(e);
      expacc.push_back(nx_acc);
      patches++;
      inputs += e.nis;
      // fed continuously since the previous accept, no back-pressure: the
      // previous pixel took at most max(1, issued) + 1 cycles
      if (prev_acc_cyc >= 0 && last_pvalid_low < prev_acc_cyc && last_aready_low < prev_acc_cyc) begin
        int bound;
        // (ACC_DSP: one more when the previous result was still moving)
        bound = ((prev_k > 1) ? prev_k : 1) + 1 + int'(ACC_DSP);
        n_bound++;
        if (cyc - prev_acc_cyc > longint'(bound))
          $fatal(1, "tb_conv_engine[%s]: next patch taken %0d cycles after a pixel of %0d inputs (bound %0d)",
                 NAME, cyc - prev_acc_cyc, prev_k, bound);
      end
      prev_acc_cyc = cyc;
      prev_k = e.nis;
      st = S_NEXT;
    end
    cyc++;
  endfunction

  initial begin
    done = 1'b0;
    patches = 0;
    inputs = 0;
    load_weights(0);
    @(posedge rst_n);
    while (tail < 4) begin
      @(negedge clk);
      plan();
      drive();
      #1;
      sample();
    end
    if (avalid || expq.size() != 0) $fatal(1, "tb_conv_engine[%s]: result left over", NAME);
    $display("tb_conv_engine[%s]: CIN=%0d COUT=%0d TM=%0d IMG=%0d ACC_W=%0d: %0d patches, %0d inputs, %0d cycles, %0d throughput checks, max unpressured latency %0d",
             NAME, CIN, COUT, TM, IMG, ACC_W, patches, inputs, cyc, n_bound, max_lat_free);
    done = 1'b1;
  end
endmodule

module tb_conv_engine;
  logic clk = 1'b0, rst_n = 1'b0;
  always #5 clk = ~clk;

  localparam int K = 8;
  bit done [K];
  int patches [K], inputs [K];

  // spiking input, 3 picker groups, T = 8
  tb_conv_engine_run #(.CIN(5), .COUT(7), .TM(8), .IMG(0), .ACC_W(24), .TAG_W(16),
                       .NPATCH(3000), .NAME("spk")) u_a (clk, rst_n, done[0], patches[0], inputs[0]);
  // image input
  tb_conv_engine_run #(.CIN(2), .COUT(4), .TM(4), .IMG(1), .ACC_W(32), .TAG_W(16),
                       .NPATCH(3000), .NAME("img")) u_b (clk, rst_n, done[1], patches[1], inputs[1]);
  // full-size patch: 288 entries, 18 picker groups
  tb_conv_engine_run #(.CIN(32), .COUT(3), .TM(4), .IMG(0), .ACC_W(20), .TAG_W(19),
                       .NPATCH(1000), .NAME("spk32")) u_c (clk, rst_n, done[2], patches[2], inputs[2]);
  // T = 1 and an accumulator that wraps
  tb_conv_engine_run #(.CIN(4), .COUT(3), .TM(1), .IMG(0), .ACC_W(9), .TAG_W(8),
                       .NPATCH(2000), .NAME("spk-wrap")) u_d (clk, rst_n, done[3], patches[3], inputs[3]);
  // one input channel (the image layer), an accumulator that wraps
  tb_conv_engine_run #(.CIN(1), .COUT(2), .TM(2), .IMG(1), .ACC_W(17), .TAG_W(4),
                       .NPATCH(2000), .NAME("img-wrap")) u_e (clk, rst_n, done[4], patches[4], inputs[4]);
  // accumulators in DSP slices: odd COUT (a half-used slice), T = 8; the
  // full-size patch at the card's 17 bits; a narrow accumulator that wraps
  tb_conv_engine_run #(.CIN(5), .COUT(7), .TM(8), .IMG(0), .ACC_W(24), .TAG_W(16), .ACC_DSP(1),
                       .NPATCH(3000), .NAME("spk-dsp")) u_f (clk, rst_n, done[5], patches[5], inputs[5]);
  tb_conv_engine_run #(.CIN(32), .COUT(4), .TM(4), .IMG(0), .ACC_W(17), .TAG_W(19), .ACC_DSP(1),
                       .NPATCH(1000), .NAME("spk32-dsp")) u_g (clk, rst_n, done[6], patches[6], inputs[6]);
  tb_conv_engine_run #(.CIN(4), .COUT(3), .TM(2), .IMG(0), .ACC_W(9), .TAG_W(8), .ACC_DSP(1),
                       .NPATCH(2000), .NAME("spk-wrap-dsp")) u_h (clk, rst_n, done[7], patches[7], inputs[7]);

  initial begin
    #20ms;
    $fatal(1, "tb_conv_engine: timeout");
  end

  initial begin
    int np, ni;
    repeat (4) @(posedge clk);
    #1 rst_n = 1'b1;
    wait (done[0] && done[1] && done[2] && done[3] && done[4] && done[5] && done[6] && done[7]);
    np = 0;
    ni = 0;
    for (int k = 0; k < K; k++) begin
      np += patches[k];
      ni += inputs[k];
    end
    $display("tb_conv_engine: PASS (%0d patches, %0d inputs)", np, ni);
    $finish;
  end
endmodule
