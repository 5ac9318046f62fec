// snn_lif_unit - the LIF unit of a layer-pipeline stage (docs/rtl-pipeline.md):
// one output pixel per cycle, all COUT channels x TM steps, never stalls.
//
// Per neuron (docs/numerics.md, steps 2-4), u = 0 at t = 0:
//
//   for t = 0 .. T-1:
//     v    = (u >>> 2) + acc[t] + b       32-bit signed, shift = floor(u / 4)
//     fire = pol ? (v < th) : (v > th)    strict, signed
//     u    = fire ? 0 : v                 hard reset
//
// acc[co][t] is acc_i[(co*TM + t)*ACC_W +: ACC_W] (signed); IMG = 1: only
// acc[co][0] is used, for every step (the image stage's current). Spike bit
// co*TM + t; bits of steps t >= t_steps_i and of channels co >= cout_i are 0.
//
// Pipeline, cycle 0 = the cycle of valid_i (one pixel per cycle, every
// cycle; latency independent of t_steps_i):
//
//   cycle 0        th_en_o / th_addr_o = tag_i[ADDR_W-1:0] (combinational);
//                  register: ab[0] = acc[0] + b, the other steps' acc, masks
//   cycle 1 + k    step k (k = 0 .. TM-1): v = (u >>> 2) + ab[k] (one add),
//                  compare, reset; in parallel ab[k+1] = acc[k+1] + b (one
//                  add). Step 0 uses th_data_i / pol_i (the RAM answers in
//                  cycle 1) and keeps them for the later steps.
//   cycle TM + 1   popcount of the spike bits
//   cycle TM + 2   valid_o, spikes_o, tag_o, nspikes_o  (LATENCY = TM + 2)
//
// Every register stage holds at most one 32-bit add followed by a compare per
// neuron. bias_i is read in cycles 0 .. TM-1 of a pixel: it must be static
// while pixels are in flight (it changes only when a model is loaded).
// t_steps_i and cout_i are sampled in cycle 0 and travel with the pixel.
// No saturation: the deploy-image loader proved |v| < 2^30.
`default_nettype none

module snn_lif_unit #(
  parameter int unsigned COUT   = 32,    // channels (maximum)
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
  // ---- pixel in (no ready: one per cycle) ----
  input  wire                      valid_i,
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

  localparam int unsigned NS      = COUT * TM; // spike bits
  // Register stage r = 0 .. TM: r = 0 holds the operands (end of cycle 0),
  // r = k + 1 the state after step k (end of cycle 1 + k).
  localparam int unsigned NR      = TM + 1;
  // acc[t] still to add at stage r (t = r+1 .. TM-1, r = 0 .. TM-2): a
  // triangle of TM(TM-1)/2 entries of COUT accumulators.
  localparam int unsigned NTRI    = (IMG == 0 && TM > 1) ? TM * (TM - 1) / 2 : 1;
  localparam int unsigned NTH     = (TM > 1) ? TM - 1 : 1;   // th/pol kept for steps 1 .. TM-1

  function automatic int unsigned tri_idx(input int unsigned r, input int unsigned t);
    // entry of acc[t] at stage r in the triangle
    tri_idx = r * (TM - 1) - (r * (r - 1)) / 2 + (t - r - 1);
  endfunction

  // popcount: a balanced tree (heap order, node j at [(j-1)*NW], leaves NP2 ..)
  localparam int unsigned NP2 = 1 << $clog2(NS);

  // ---- state -----------------------------------------------------------------
  logic [NR-1:0]               vld_q;
  logic [NR*TAG_W-1:0]         tag_q;
  logic [NR*TM-1:0]            tmask_q;     // step t enabled (t < T)
  logic [NR*COUT-1:0]          cmask_q;     // channel co enabled (co < cout)
  logic [NR*NS-1:0]            spk_q;       // bits of the steps done so far
  logic [TM*COUT*32-1:0]       ab_q;        // [r]: acc[r] + b, step r's operand
  logic [NTH*COUT*32-1:0]      u_q;         // [r-1]: u after step r-1, at stage r
  logic [NTH*COUT*32-1:0]      th_q;        // [r-1]: thresholds at stage r
  logic [NTH*COUT-1:0]         pol_q;
  logic [NTRI*COUT*ACC_W-1:0]  acc_q;       // the triangle

  assign th_en_o   = valid_i;
  assign th_addr_o = tag_i[ADDR_W-1:0];

  // ---- datapath ------------------------------------------------------------------
  // A register stage is written only when a pixel moves into it (stage 0 with
  // valid_i, stage k + 1 with vld_q[k]: clock enables) and holds otherwise, so
  // that the outputs of a cycle without valid_o are the last pixel's. Written
  // as enabled register updates, a simulator evaluates a stage only while a
  // pixel passes it, not every cycle (evaluated every cycle, the LIF units
  // took a third of the time of the simulated kernel).
  always_ff @(posedge clk_i) begin
    // stage 0: operands
    /* verilator lint_off WIDTHCONCAT */  // (elaborated at IMG = 0 too)
    if (IMG != 0) acc_q <= '0;   // (no triangle: every step uses acc[0])
    /* verilator lint_on WIDTHCONCAT */
    if (valid_i) begin
      tag_q[0 +: TAG_W] <= tag_i;
      spk_q[0 +: NS]    <= '0;
      for (int t = 0; t < TM; t++) tmask_q[t] <= t < 32'(t_steps_i);
      for (int co = 0; co < COUT; co++) begin
        logic signed [ACC_W-1:0] a;
        cmask_q[co] <= co < 32'(cout_i);
        a = signed'(acc_i[(co*TM)*ACC_W +: ACC_W]);
        ab_q[co*32 +: 32] <= 32'(a) + bias_i[co*32 +: 32];
        if (IMG == 0)
          for (int t = 1; t < TM; t++)
            acc_q[tri_idx(0, t)*COUT*ACC_W + co*ACC_W +: ACC_W] <= acc_i[(co*TM + t)*ACC_W +: ACC_W];
      end
    end

    // stages 1 .. TM: step k = r - 1
    for (int k = 0; k < TM; k++) begin
      if (vld_q[k]) begin
        logic [NS-1:0] spk;
        spk = spk_q[k*NS +: NS];
        tag_q[(k+1)*TAG_W +: TAG_W] <= tag_q[k*TAG_W +: TAG_W];
        tmask_q[(k+1)*TM +: TM]     <= tmask_q[k*TM +: TM];
        cmask_q[(k+1)*COUT +: COUT] <= cmask_q[k*COUT +: COUT];
        for (int co = 0; co < COUT; co++) begin
          logic signed [31:0]      u, v, th;
          logic                    pol, fire;
          logic signed [ACC_W-1:0] a;
          if (k == 0) begin
            u   = 32'sd0;
            th  = signed'(th_data_i[co*32 +: 32]);
            pol = pol_i[co];
          end else begin
            u   = signed'(u_q[((k-1)*COUT + co)*32 +: 32]);
            th  = signed'(th_q[((k-1)*COUT + co)*32 +: 32]);
            pol = pol_q[(k-1)*COUT + co];
          end
          v = (u >>> 2) + signed'(ab_q[(k*COUT + co)*32 +: 32]);
          fire = pol ? (v < th) : (v > th);
          spk[co*TM + k] = fire && cmask_q[k*COUT + co] && tmask_q[k*TM + k];
          if (k + 1 < TM) begin
            // operands of step k + 1
            u_q[(k*COUT + co)*32 +: 32]  <= fire ? 32'sd0 : v;
            th_q[(k*COUT + co)*32 +: 32] <= th;
            pol_q[k*COUT + co]           <= pol;
            if (IMG != 0) begin
              ab_q[((k+1)*COUT + co)*32 +: 32] <= ab_q[(k*COUT + co)*32 +: 32];
            end else begin
              a = signed'(acc_q[tri_idx(k, k+1)*COUT*ACC_W + co*ACC_W +: ACC_W]);
              ab_q[((k+1)*COUT + co)*32 +: 32] <= 32'(a) + bias_i[co*32 +: 32];
              for (int t = k + 2; t < TM; t++)
                acc_q[tri_idx(k+1, t)*COUT*ACC_W + co*ACC_W +: ACC_W] <=
                  acc_q[tri_idx(k, t)*COUT*ACC_W + co*ACC_W +: ACC_W];
            end
          end
        end
        spk_q[(k+1)*NS +: NS] <= spk;
      end
    end
  end

  // ---- output stage: popcount ------------------------------------------------------
  // (with the last stage's enable: the outputs hold while valid_o is low)
  logic [NS-1:0] spk_last;
  assign spk_last = spk_q[TM*NS +: NS];
  always_ff @(posedge clk_i) begin
    if (vld_q[NR-1]) begin
      // a balanced tree (heap order, node j at [(j-1)*NW], leaves NP2 ..)
      logic [(2*NP2-1)*NW-1:0] pc;
      pc = '0;
      for (int j = 0; j < NP2; j++)
        pc[(NP2 + j - 1)*NW +: NW] = (j < 32'(NS)) ? NW'(spk_last[j]) : '0;
      for (int j = NP2 - 1; j >= 1; j--)
        pc[(j-1)*NW +: NW] = pc[(2*j-1)*NW +: NW] + pc[(2*j)*NW +: NW];
      spikes_o  <= spk_last;
      tag_o     <= tag_q[TM*TAG_W +: TAG_W];
      nspikes_o <= pc[0 +: NW];
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      vld_q   <= '0;
      valid_o <= 1'b0;
    end else begin
      vld_q   <= {vld_q[NR-2:0], valid_i};
      valid_o <= vld_q[NR-1];
    end
  end

  // ---- parameter checks --------------------------------------------------------------
  if (ADDR_W > TAG_W) begin : g_bad_addr
    $error("snn_lif_unit: ADDR_W (%0d) exceeds TAG_W (%0d)", ADDR_W, TAG_W);
  end
  if (TM < 1 || TM > 31) begin : g_bad_tm
    $error("snn_lif_unit: TM must be 1 .. 31 (t_steps_i is 5 bits)");
  end

endmodule
