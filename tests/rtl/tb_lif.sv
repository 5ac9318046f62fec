// tb_lif - self-checking testbench of snn_lif, the threshold pass datapath
// (docs/numerics.md steps 2-4): leak by arithmetic shift (floor), strict
// comparisons, polarity, constant neurons (INT32_MIN / INT32_MAX thresholds),
// hard reset, first step (u = 0), masked lanes. Directed cases first, then
// random vectors against a model written from the specification.
// Exit status: 0 pass, non-zero fail.
`default_nettype none

module tb_lif;
  localparam int unsigned L = 4;

  logic            clk = 1'b0, rst_n = 1'b0;
  logic            valid, first;
  logic [L-1:0]    mask, pol;
  logic [L*32-1:0] acc, u, bias, th;
  logic            valid_o;
  logic [L-1:0]    fire_o;
  logic [L*32-1:0] u_o;

  always #5 clk = ~clk;

  snn_lif #(.LANES(L)) dut (
    .clk_i (clk), .rst_ni (rst_n), .valid_i (valid), .first_i (first), .mask_i (mask),
    .acc_i (acc), .u_i (u), .bias_i (bias), .th_i (th), .pol_i (pol),
    .valid_o (valid_o), .fire_o (fire_o), .u_o (u_o)
  );

  // the specification
  function automatic void model(input int su, input int sacc, input int sb, input int sth,
                                input bit p, input bit f, input bit m,
                                output bit fire, output int un);
    int v;
    v = (f ? 0 : (su >>> 2)) + sacc + sb;
    fire = m && (p ? (v < sth) : (v > sth));
    un = fire ? 0 : v;
  endfunction

  typedef struct { int u, acc, b, th; bit pol, first, mask; string what; } vec_t;
  vec_t q[$];          // applied, waiting for the result
  int   errors = 0, checks = 0;

  // a hang is a failure
  initial begin
    #10ms;
    $fatal(1, "tb_lif: timeout");
  end

  task automatic apply(input vec_t v[L]);
    for (int j = 0; j < L; j++) begin
      u[j*32 +: 32]    = v[j].u;
      acc[j*32 +: 32]  = v[j].acc;
      bias[j*32 +: 32] = v[j].b;
      th[j*32 +: 32]   = v[j].th;
      pol[j]  = v[j].pol;
      mask[j] = v[j].mask;
      q.push_back(v[j]);
    end
    first = v[0].first;   // one flag per cycle, as in the kernel
    valid = 1'b1;
    @(posedge clk);
    #1 valid = 1'b0;
  endtask

  // checker: results leave two cycles after the operands
  always @(posedge clk) begin
    if (valid_o) begin
      for (int j = 0; j < L; j++) begin
        vec_t v;
        bit ef;
        int eu;
        v = q.pop_front();
        model(v.u, v.acc, v.b, v.th, v.pol, v.first, v.mask, ef, eu);
        checks++;
        if (fire_o[j] !== ef || (v.mask && $signed(u_o[j*32 +: 32]) !== eu)) begin
          errors++;
          $display("FAIL %s lane %0d: u %0d acc %0d b %0d th %0d pol %0d first %0d -> fire %0d u %0d, expected %0d %0d",
                   v.what, j, v.u, v.acc, v.b, v.th, v.pol, v.first, fire_o[j],
                   $signed(u_o[j*32 +: 32]), ef, eu);
        end
      end
    end
  end

  function automatic vec_t mk(input int su, input int sacc, input int sb, input int sth,
                              input bit p, input bit f, input string what);
    vec_t v;
    v.u = su; v.acc = sacc; v.b = sb; v.th = sth; v.pol = p; v.first = f; v.mask = 1'b1; v.what = what;
    return v;
  endfunction

  localparam int IMax = 32'h7FFF_FFFF;
  localparam int IMin = 32'h8000_0000;

  initial begin
    vec_t v[L];
    valid = 1'b0; first = 1'b0; mask = '0; pol = '0; acc = '0; u = '0; bias = '0; th = '0;
    repeat (3) @(posedge clk);
    #1 rst_n = 1'b1;

    // leak of negative membranes rounds towards minus infinity: -5>>>2 = -2
    v[0] = mk(-5, 0, 0, IMax, 0, 0, "leak -5");
    v[1] = mk(-4, 0, 0, IMax, 0, 0, "leak -4");
    v[2] = mk(-1, 0, 0, IMax, 0, 0, "leak -1");
    v[3] = mk(7, 0, 0, IMax, 0, 0, "leak 7");
    apply(v);
    // integrate: (u>>>2) + acc + bias, strict comparison at equality
    v[0] = mk(40, 3, -2, 11, 0, 0, "v == th, pol 0");     // v = 11: no spike
    v[1] = mk(40, 3, -2, 10, 0, 0, "v > th, pol 0");      // spike, reset
    v[2] = mk(40, 3, -2, 11, 1, 0, "v == th, pol 1");     // no spike
    v[3] = mk(40, 3, -2, 12, 1, 0, "v < th, pol 1");      // spike
    apply(v);
    // constant neurons: INT32_MIN with pol 0 always fires, INT32_MAX never
    v[0] = mk(-(1 << 30), -(1 << 28), -(1 << 27), IMin, 0, 0, "INT32_MIN always");
    v[1] = mk((1 << 30) - 4, (1 << 28) - 1, (1 << 27) - 1, IMax, 0, 0, "INT32_MAX never");
    v[2] = mk(0, 0, 0, IMin, 0, 0, "INT32_MIN at 0");
    v[3] = mk(0, 0, 0, IMax, 1, 0, "INT32_MAX pol 1 at 0");  // 0 < INT32_MAX: fires
    apply(v);
    // first step: u is taken as 0
    v[0] = mk(-1000, 5, 0, 4, 0, 1, "first step");
    v[1] = mk(1000, 5, 0, 4, 0, 1, "first step");
    v[2] = mk(1000, -5, 0, -6, 0, 1, "first step");
    v[3] = mk(123, 0, 0, 0, 1, 1, "first step");
    apply(v);
    // masked lanes never fire
    v[0] = mk(0, 100, 0, 0, 0, 0, "masked");
    v[1] = mk(0, 100, 0, 0, 0, 0, "unmasked");
    v[2] = mk(0, -100, 0, 0, 1, 0, "masked");
    v[3] = mk(0, 100, 0, 0, 0, 0, "unmasked");
    v[0].mask = 1'b0;
    v[2].mask = 1'b0;
    apply(v);
    // random vectors inside the proven range |v| < 2^30
    for (int n = 0; n < 2000; n++) begin
      bit f;
      f = ($urandom_range(0, 7) == 0);
      for (int j = 0; j < L; j++) begin
        int su, sacc, sb, sth;
        su   = $signed($urandom_range(0, (1 << 30))) - (1 << 29);
        sacc = $signed($urandom_range(0, (1 << 27))) - (1 << 26);
        sb   = $signed($urandom_range(0, (1 << 26))) - (1 << 25);
        unique case ($urandom_range(0, 3))
          0: sth = IMin;
          1: sth = IMax;
          default: sth = (f ? 0 : (su >>> 2)) + sacc + sb + $signed($urandom_range(0, 4)) - 2;
        endcase
        v[j] = mk(su, sacc, sb, sth, 1'($urandom_range(0, 1)), f, "random");
        v[j].mask = ($urandom_range(0, 9) != 0);
      end
      apply(v);
    end
    repeat (4) @(posedge clk);
    if (q.size() != 0) begin
      errors++;
      $display("FAIL: %0d results missing", q.size());
    end
    if (errors != 0) $fatal(1, "tb_lif: %0d of %0d checks failed", errors, checks);
    $display("tb_lif: PASS (%0d lane results checked)", checks);
    $finish;
  end
endmodule
