// tb_lif_unit - self-checking testbench of snn_lif_unit, the LIF unit of a
// layer-pipeline stage (docs/rtl-pipeline.md, docs/numerics.md steps 2-4).
//
// Three configurations (spike maps, the image stage with one current for all
// steps, a narrow accumulator) each run images of random pixels against a
// model written here from the specification, bit for bit:
//   * acc uniform at random magnitudes, near +-2^28, zero, and chosen step by
//     step so that v lands on th - 1, th, th + 1 (strict comparisons);
//   * thresholds INT32_MIN / INT32_MAX (constant neurons), random, large;
//     both polarities; random biases up to +-2^27;
//   * T = 1 .. TM and cout = 1 .. COUT per image (bits past them must be 0);
//     T and cout also change with pixels in flight (they travel with the
//     pixel);
//   * back-to-back pixels (one per cycle) and random gaps; every output must
//     appear exactly TM + 2 cycles after its input, in order, tag intact.
// Exit status: 0 pass, non-zero fail.
`timescale 1ns/1ps
`default_nettype none

module lif_unit_check #(
  parameter int unsigned COUT   = 6,
  parameter int unsigned TM     = 5,
  parameter int unsigned ACC_W  = 30,
  parameter int unsigned IMG    = 0,
  parameter int unsigned IMAGES = 60,
  parameter string       NAME   = "cfg"
) (
  input  wire  clk,
  input  wire  rst_n,
  output logic done,
  output int   n_pixels,
  output int   n_checks,
  output int   n_equal,     // neuron-steps with v == th (strictness)
  output int   n_fired
);
  localparam int unsigned TAG_W  = 11;
  localparam int unsigned ADDR_W = 6;
  localparam int unsigned CW     = $clog2(COUT + 1);
  localparam int unsigned NW     = $clog2(COUT * TM + 1);
  localparam int unsigned LAT    = TM + 2;
  localparam int IMax = 32'h7FFF_FFFF;
  localparam int IMin = 32'h8000_0000;

  logic                      valid;
  logic [COUT*TM*ACC_W-1:0]  acc;
  logic [TAG_W-1:0]          tag;
  logic [4:0]                tsteps;
  logic [CW-1:0]             cout;
  logic [COUT*32-1:0]        bias;
  logic                      th_en;
  logic [ADDR_W-1:0]         th_addr;
  logic [COUT*32-1:0]        th_data;
  logic [COUT-1:0]           pol_data;
  logic                      valid_o;
  logic [COUT*TM-1:0]        spikes_o;
  logic [TAG_W-1:0]          tag_o;
  logic [NW-1:0]             nspikes_o;

  snn_lif_unit #(
    .COUT(COUT), .TM(TM), .ACC_W(ACC_W), .IMG(IMG), .TAG_W(TAG_W), .ADDR_W(ADDR_W)
  ) dut (
    .clk_i(clk), .rst_ni(rst_n),
    .valid_i(valid), .acc_i(acc), .tag_i(tag), .t_steps_i(tsteps), .cout_i(cout),
    .bias_i(bias), .th_en_o(th_en), .th_addr_o(th_addr), .th_data_i(th_data),
    .pol_i(pol_data), .valid_o(valid_o), .spikes_o(spikes_o), .tag_o(tag_o),
    .nspikes_o(nspikes_o)
  );

  // threshold RAM (registered read), static per image
  int th_mem  [1 << ADDR_W][COUT];
  bit pol_mem [1 << ADDR_W][COUT];
  always @(posedge clk)
    if (th_en)
      for (int co = 0; co < COUT; co++) begin
        th_data[co*32 +: 32] <= th_mem[th_addr][co];
        pol_data[co]         <= pol_mem[th_addr][co];
      end

  int b_cur [COUT];

  // expected outputs, in order (spikes, tag, cycle in which valid_o must be seen)
  logic [COUT*TM-1:0] q_spk[$];
  logic [TAG_W-1:0]   q_tag[$];
  longint             q[$];
  longint cycle = 0;
  int     errors = 0;

  always @(posedge clk) cycle <= cycle + 1;

  // checker: sampled mid-cycle
  always @(negedge clk) begin
    if (rst_n) begin
      if (valid_o) begin
        logic [COUT*TM-1:0] es;
        logic [TAG_W-1:0]   et;
        longint             due;
        int                 n;
        if (q.size() == 0) begin
          $display("FAIL %s: unexpected output in cycle %0d", NAME, cycle);
          errors++;
        end else begin
          due = q.pop_front();
          es  = q_spk.pop_front();
          et  = q_tag.pop_front();
          n   = $countones(es);
          n_checks++;
          if (due != cycle || spikes_o !== es || tag_o !== et || nspikes_o !== NW'(n)) begin
            errors++;
            $display("FAIL %s: cycle %0d (due %0d) tag %h (exp %h) spikes %b (exp %b) n %0d (exp %0d)",
                     NAME, cycle, due, tag_o, et, spikes_o, es, nspikes_o, n);
          end
        end
      end else if (q.size() != 0 && q[0] <= cycle) begin
        errors++;
        $display("FAIL %s: output due in cycle %0d missing", NAME, q[0]);
        void'(q.pop_front());
        void'(q_spk.pop_front());
        void'(q_tag.pop_front());
      end
      if (errors > 10) $fatal(1, "tb_lif_unit: %s: too many errors", NAME);
    end
  end

  function automatic int rnd_range(input int lo, input int hi);   // lo .. hi inclusive
    return int'(longint'(lo) + longint'({32'd0, $urandom}) % (longint'(hi) - longint'(lo) + 1));
  endfunction

  // acc values near the limits and at random magnitudes
  function automatic int rnd_acc();
    int r;
    r = int'($urandom % 8);
    case (r)
      0: return 0;
      1: return (1 << 28) - rnd_range(1, 4000);
      2: return -(1 << 28) + rnd_range(1, 4000);
      default: begin
        int bits;
        bits = rnd_range(0, 28);
        return rnd_range(-(1 << bits), (1 << bits) - 1);
      end
    endcase
  endfunction

  // fits in ACC_W bits (signed)?
  function automatic int fit(input int a);
    longint lo, hi;
    lo = -(longint'(1) << (ACC_W - 1));
    hi = (longint'(1) << (ACC_W - 1)) - 1;
    if (longint'(a) < lo) return int'(lo);
    if (longint'(a) > hi) return int'(hi);
    return a;
  endfunction

  // the specification: spikes of one pixel
  function automatic logic [COUT*TM-1:0] model(input int a [COUT][TM], input int addr,
                                               input int T, input int nc);
    logic [COUT*TM-1:0] s;
    s = '0;
    for (int co = 0; co < COUT; co++) begin
      int u, v, th;
      bit p, f;
      u  = 0;
      th = th_mem[addr][co];
      p  = pol_mem[addr][co];
      for (int t = 0; t < TM; t++) begin
        v = (u >>> 2) + a[co][IMG != 0 ? 0 : t] + b_cur[co];
        f = p ? (v < th) : (v > th);
        u = f ? 0 : v;
        if (t < T && co < nc) begin
          s[co*TM + t] = f;
          n_equal += int'(v == th);
          n_fired += int'(f);
        end
      end
    end
    return s;
  endfunction

  // one pixel in the current cycle (inputs change 1 ns after the clock edge)
  task automatic drive_pixel(input int T, input int nc);
    int                  a [COUT][TM];
    int                  addr;
    logic [TAG_W-1:0]    tg;
    addr = rnd_range(0, (1 << ADDR_W) - 1);
    tg   = TAG_W'({$urandom, ADDR_W'(addr)});
    for (int co = 0; co < COUT; co++) begin
      int mode, u;
      mode = rnd_range(0, 9);
      u = 0;
      for (int t = 0; t < TM; t++) begin
        if (IMG != 0 && t > 0) begin
          a[co][t] = int'($urandom);          // ignored by the unit
        end else if (mode < 4) begin
          // v lands next to the threshold: th - (u >>> 2) - b + {-1, 0, 1}
          longint want;
          int th, v, us;
          bit f;
          th   = th_mem[addr][co];
          us   = u >>> 2;
          want = longint'(th) - longint'(us) - longint'(b_cur[co]) + longint'(rnd_range(-1, 1));
          if (th == IMax || th == IMin || want > 64'sh0FFF_FFFF || want < -64'sh1000_0000)
            a[co][t] = fit(rnd_acc());
          else
            a[co][t] = fit(int'(want));
          v = (u >>> 2) + a[co][t] + b_cur[co];
          f = pol_mem[addr][co] ? (v < th) : (v > th);
          u = f ? 0 : v;
        end else if (mode == 4) begin
          a[co][t] = 0;
        end else begin
          a[co][t] = fit(rnd_acc());
        end
        acc[(co*TM + t)*ACC_W +: ACC_W] = ACC_W'(a[co][t]);
      end
    end
    tag    = tg;
    tsteps = 5'(T);
    cout   = CW'(nc);
    valid  = 1'b1;
    q_spk.push_back(model(a, addr, T, nc));
    q_tag.push_back(tg);
    q.push_back(cycle + longint'(LAT));
    n_pixels++;
  endtask

  task automatic new_model();
    for (int co = 0; co < COUT; co++) begin
      int r;
      r = rnd_range(0, 3);
      b_cur[co] = r == 0 ? 0 : r == 1 ? rnd_range(-(1 << 27) + 1, (1 << 27) - 1) : rnd_range(-2000, 2000);
      bias[co*32 +: 32] = b_cur[co];
    end
    for (int ad = 0; ad < (1 << ADDR_W); ad++)
      for (int co = 0; co < COUT; co++) begin
        int r;
        r = rnd_range(0, 11);
        th_mem[ad][co]  = r == 0 ? IMin : r == 1 ? IMax : r == 2 ? rnd_range(-(1 << 29), 1 << 29)
                        : r < 6 ? 0 : rnd_range(-100000, 100000);
        pol_mem[ad][co] = ($urandom % 3) == 0;
      end
  endtask

  task automatic idle(input int n);
    repeat (n) begin
      @(posedge clk);
      #1 valid = 1'b0;
      acc = {(COUT*TM*ACC_W){1'bx}};
    end
  endtask

  initial begin
    done = 1'b0;
    n_pixels = 0;
    n_checks = 0;
    n_equal = 0;
    n_fired = 0;
    valid = 1'b0;
    acc = '0;
    tag = '0;
    tsteps = 5'd1;
    cout = CW'(COUT);
    bias = '0;
    @(posedge rst_n);
    for (int img = 0; img < IMAGES; img++) begin
      int T, nc, npix, density;
      // thresholds and biases change only with the pipeline empty
      if (img % 4 == 0) begin
        idle(LAT + 2);
        new_model();
      end
      T  = (img < int'(TM)) ? img + 1 : rnd_range(1, TM);       // every T at least once
      nc = (img % 3 == 0) ? COUT : rnd_range(1, COUT);
      npix = rnd_range(1, 400);
      density = (img % 2 == 0) ? 100 : rnd_range(20, 100);      // % of cycles with a pixel
      for (int n = 0; n < npix; n++) begin
        @(posedge clk);
        #1;
        if (rnd_range(1, 100) <= density) drive_pixel(T, nc);
        else begin
          valid = 1'b0;
          acc = {(COUT*TM*ACC_W){1'bx}};
        end
      end
    end
    idle(LAT + 4);
    if (q.size() != 0) begin
      errors++;
      $display("FAIL %s: %0d outputs missing", NAME, q.size());
    end
    if (errors != 0) $fatal(1, "tb_lif_unit: %s: %0d errors", NAME, errors);
    done = 1'b1;
  end
endmodule

module tb_lif_unit;
  logic clk = 1'b0, rst_n = 1'b0;
  always #5 clk = ~clk;

  localparam int NCFG = 4;
  logic done [NCFG];
  int   pix  [NCFG], chk [NCFG], neq [NCFG], nfi [NCFG];

  // spike-map stage, image stage (one current for all steps), narrow
  // accumulators, the synthesis shape (COUT 32, TM 4, ACC_W 20)
  lif_unit_check #(.COUT(6),  .TM(5), .ACC_W(30), .IMG(0), .IMAGES(80), .NAME("c6t5"))
    u_c0 (.clk, .rst_n, .done(done[0]), .n_pixels(pix[0]), .n_checks(chk[0]),
    .n_equal(neq[0]), .n_fired(nfi[0]));
  lif_unit_check #(.COUT(4),  .TM(4), .ACC_W(30), .IMG(1), .IMAGES(60), .NAME("img"))
    u_c1 (.clk, .rst_n, .done(done[1]), .n_pixels(pix[1]), .n_checks(chk[1]),
    .n_equal(neq[1]), .n_fired(nfi[1]));
  lif_unit_check #(.COUT(3),  .TM(3), .ACC_W(12), .IMG(0), .IMAGES(40), .NAME("acc12"))
    u_c2 (.clk, .rst_n, .done(done[2]), .n_pixels(pix[2]), .n_checks(chk[2]),
    .n_equal(neq[2]), .n_fired(nfi[2]));
  lif_unit_check #(.COUT(32), .TM(4), .ACC_W(20), .IMG(0), .IMAGES(40), .NAME("c32t4"))
    u_c3 (.clk, .rst_n, .done(done[3]), .n_pixels(pix[3]), .n_checks(chk[3]),
    .n_equal(neq[3]), .n_fired(nfi[3]));

  initial begin
    #100ms;
    $fatal(1, "tb_lif_unit: timeout");
  end

  initial begin
    int np, nc, ne, nf;
    repeat (4) @(posedge clk);
    #1 rst_n = 1'b1;
    wait (done[0] && done[1] && done[2] && done[3]);
    np = 0;
    nc = 0;
    ne = 0;
    nf = 0;
    for (int i = 0; i < NCFG; i++) begin
      np += pix[i];
      nc += chk[i];
      ne += neq[i];
      nf += nfi[i];
    end
    if (np != nc) $fatal(1, "tb_lif_unit: %0d pixels in, %0d checked", np, nc);
    $display("tb_lif_unit: PASS (%0d pixels in 4 configurations, %0d spikes, %0d v == th cases, bit-exact, latency TM+2, 1 pixel/cycle)",
             np, nf, ne);
    $finish;
  end
endmodule
