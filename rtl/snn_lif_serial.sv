// snn_lif_serial - the step-serial LIF unit of a layer-pipeline stage
// (docs/rtl-pipeline.md): one output pixel at a time, all COUT channels in
// parallel, one time step per cycle. Same arithmetic and ports as
// snn_lif_unit (the one-pixel-per-cycle pipeline), plus ready_o; a stage
// whose pixels arrive more than T + 1 cycles apart on average (a stage after
// a pool) uses it for about a quarter of the logic: one adder pair,
// comparator and membrane per channel instead of TM of them.
//
// Per neuron (docs/numerics.md, steps 2-4), u = 0 at t = 0:
//
//   for t = 0 .. T-1:
//     v    = (u >>> 2) + acc[t] + b       32-bit signed, shift = floor(u / 4)
//     fire = pol ? (v < th) : (v > th)    strict, signed
//     u    = fire ? 0 : v                 hard reset
//
// acc[co][t] is acc_i[(co*TM + t)*ACC_W +: ACC_W] (signed); IMG = 1: only
// acc[co][0] is used, for every step. Spike bit co*TM + t; bits of steps
// t >= T and of channels co >= cout are 0.
//
// Timing, cycle 0 = the accept cycle (valid_i && ready_o):
//
//   cycle 0        th_en_o / th_addr_o = tag_i[ADDR_W-1:0] (combinational);
//                  acc_i, tag_i, T and cout are registered
//   cycle 1        th_data_i / pol_i are registered
//   cycle 2 + k    step k (k = 0 .. T-1); in the cycle of the last step
//                  ready_o is high, so the next pixel is accepted then
//   cycle T + 2    the spike bits are registered
//   cycle T + 3    valid_o, spikes_o, tag_o, nspikes_o
//
// One pixel per T + 1 cycles at most. bias_i must be static while pixels
// are in flight (it changes only when a model is loaded). No saturation:
// the deploy-image loader proved |v| < 2^30.
`default_nettype none

module snn_lif_serial #(
  parameter int unsigned COUT   = 64,    // channels (maximum)
  parameter int unsigned TM     = 4,     // time steps (maximum)
  parameter int unsigned ACC_W  = 24,    // accumulator bits (signed)
  parameter int unsigned IMG    = 0,     // 1: acc_i holds only t = 0, used for every step
  parameter int unsigned TAG_W  = 16,    // pixel tag; its low ADDR_W bits address the thresholds
  parameter int unsigned ADDR_W = 10,    // threshold RAM address bits (<= TAG_W)
  // derived
  parameter int unsigned CW     = $clog2(COUT + 1),
  parameter int unsigned NW     = $clog2(COUT * TM + 1)
) (
  input  wire                      clk_i,
  input  wire                      rst_ni,
  // ---- pixel in ----
  input  wire                      valid_i,
  output logic                     ready_o,
  input  wire [COUT*TM*ACC_W-1:0]  acc_i,
  input  wire [TAG_W-1:0]          tag_i,
  // ---- configuration ----
  input  wire [4:0]                t_steps_i,   // T, 1 .. TM
  input  wire [CW-1:0]             cout_i,      // channels of the layer
  input  wire [COUT*32-1:0]        bias_i,      // static per layer
  // ---- threshold RAM (registered read) ----
  output logic                     th_en_o,
  output logic [ADDR_W-1:0]        th_addr_o,
  input  wire [COUT*32-1:0]        th_data_i,   // one cycle after th_en_o
  input  wire [COUT-1:0]           pol_i,       // one cycle after th_en_o
  // ---- spikes out ----
  output logic                     valid_o,
  output logic [COUT*TM-1:0]       spikes_o,    // bit co*TM + t
  output logic [TAG_W-1:0]         tag_o,
  output logic [NW-1:0]            nspikes_o    // popcount of spikes_o
);

  localparam int unsigned NS  = COUT * TM;
  localparam int unsigned NP2 = 1 << $clog2(NS);   // popcount tree leaves

  typedef enum logic [1:0] { S_IDLE, S_TH, S_STEP } state_e;
  state_e st_q;

  logic [COUT*TM*ACC_W-1:0] acc_q;
  logic [TAG_W-1:0]         tag_q;
  logic [4:0]               t_q;          // T of the pixel
  logic [CW-1:0]            cout_q;
  logic [4:0]               k_q;          // step
  logic [COUT*32-1:0]       th_q;
  logic [COUT-1:0]          pol_q;
  logic signed [31:0]       u_q [COUT];
  logic [NS-1:0]            spk_q;        // bits of the steps done so far
  logic                     last;         // the last step is this cycle
  logic                     out_q;        // spk_last_q holds a finished pixel
  logic [NS-1:0]            spk_last_q;
  logic [TAG_W-1:0]         tag_last_q;

  assign last      = st_q == S_STEP && k_q + 1'b1 == t_q;
  assign ready_o   = st_q == S_IDLE || last;
  assign th_en_o   = valid_i && ready_o;
  assign th_addr_o = tag_i[ADDR_W-1:0];
  wire accept = valid_i && ready_o;

  // ---- one step of every channel, and the registers -------------------------
  // The step is computed inside its register update (S_STEP), and the output
  // registers load only with a finished pixel (out_q), so that a simulator
  // evaluates the datapath only in the cycles that use it. While valid_o is
  // low the outputs hold the last pixel's values.
  always_ff @(posedge clk_i) begin
    if (accept) begin
      acc_q  <= acc_i;
      tag_q  <= tag_i;
      t_q    <= t_steps_i;
      cout_q <= cout_i;
    end
    if (st_q == S_TH) begin
      th_q  <= th_data_i;
      pol_q <= pol_i;
      k_q   <= '0;
      spk_q <= '0;
      for (int co = 0; co < int'(COUT); co++) u_q[co] <= 32'sd0;
    end else if (st_q == S_STEP) begin
      logic signed [ACC_W-1:0] a;
      logic signed [31:0]      v;
      logic                    fire;
      logic [NS-1:0]           spk;
      spk = spk_q;
      for (int co = 0; co < int'(COUT); co++) begin
        a = '0;
        if (IMG != 0) a = signed'(acc_q[(co*TM)*ACC_W +: ACC_W]);
        else
          for (int t = 0; t < int'(TM); t++)
            if (k_q == 5'(t)) a = signed'(acc_q[(co*TM + t)*ACC_W +: ACC_W]);
        v    = (u_q[co] >>> 2) + 32'(a) + signed'(bias_i[co*32 +: 32]);
        fire = pol_q[co] ? (v < signed'(th_q[co*32 +: 32])) : (v > signed'(th_q[co*32 +: 32]));
        u_q[co] <= fire ? 32'sd0 : v;
        for (int t = 0; t < int'(TM); t++)
          if (k_q == 5'(t)) spk[co*TM + t] = fire && co < int'(cout_q);
      end
      k_q   <= k_q + 1'b1;
      spk_q <= spk;
      if (last) begin
        spk_last_q <= spk;
        tag_last_q <= tag_q;
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      st_q  <= S_IDLE;
      out_q <= 1'b0;
    end else begin
      out_q <= last;
      case (st_q)
        S_IDLE:  if (accept) st_q <= S_TH;
        S_TH:    st_q <= S_STEP;
        S_STEP:  if (last) st_q <= accept ? S_TH : S_IDLE;
        default: st_q <= S_IDLE;
      endcase
    end
  end

  // ---- output: popcount (a balanced tree, heap order) ------------------------
  always_ff @(posedge clk_i) begin
    if (!rst_ni) valid_o <= 1'b0;
    else         valid_o <= out_q;
    if (out_q) begin
      logic [(2*NP2-1)*NW-1:0] pc;
      /* verilator lint_off WIDTHCONCAT */  // (the whole tree cleared)
      pc = '0;
      /* verilator lint_on WIDTHCONCAT */
      for (int j = 0; j < int'(NP2); j++)
        pc[(NP2 + j - 1)*NW +: NW] = (j < int'(NS)) ? NW'(spk_last_q[j]) : '0;
      for (int j = int'(NP2) - 1; j >= 1; j--)
        pc[(j-1)*NW +: NW] = pc[(2*j-1)*NW +: NW] + pc[(2*j)*NW +: NW];
      spikes_o  <= spk_last_q;
      tag_o     <= tag_last_q;
      nspikes_o <= pc[0 +: NW];
    end
  end

`ifdef SNN_ASSERT
  // Steps run only for the pixel's T, and T is 1 .. TM.
  assert property (@(posedge clk_i) disable iff (!rst_ni) st_q == S_STEP |-> k_q < t_q);
  assert property (@(posedge clk_i) disable iff (!rst_ni) accept |-> (t_steps_i >= 5'd1 && 32'(t_steps_i) <= TM));
  // A pixel is accepted only when idle or in its predecessor's last step.
  assert property (@(posedge clk_i) disable iff (!rst_ni) accept |-> (st_q == S_IDLE || last));
`endif

  // ---- parameter checks --------------------------------------------------------
  if (ADDR_W > TAG_W) begin : g_bad_addr
    $error("snn_lif_serial: ADDR_W (%0d) exceeds TAG_W (%0d)", ADDR_W, TAG_W);
  end
  if (TM < 1 || TM > 31) begin : g_bad_tm
    $error("snn_lif_serial: TM must be 1 .. 31 (t_steps_i is 5 bits)");
  end

endmodule
