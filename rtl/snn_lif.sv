// snn_lif - the threshold pass datapath for LANES neurons per cycle
// (docs/numerics.md, steps 2-4):
//
//   v      = (u >>> 2) + acc + bias        arithmetic shift: floor(u / 4)
//   fire   = pol ? (v < th) : (v > th)     strict, signed
//   u_next = fire ? 0 : v                  hard reset
//
// first_i treats u as 0 (t = 0 of an image). Lanes outside mask_i never fire.
// Two register stages: integrate, then compare; results two cycles after the
// operands. No saturation: the deploy-image loader proved |v| < 2^30.
`default_nettype none

module snn_lif
  import snn_pkg::*;
#(
  parameter int unsigned LANES = 8  // neurons per cycle
) (
  input  wire                  clk_i,
  input  wire                  rst_ni,
  input  wire                  valid_i,
  input  wire                  first_i,   // u is 0 (first step)
  input  wire [LANES-1:0]      mask_i,    // lanes holding a neuron
  input  wire [LANES*32-1:0]   acc_i,
  input  wire [LANES*32-1:0]   u_i,
  input  wire [LANES*32-1:0]   bias_i,
  input  wire [LANES*32-1:0]   th_i,
  input  wire [LANES-1:0]      pol_i,
  output logic                 valid_o,
  output logic [LANES-1:0]     fire_o,
  output logic [LANES*32-1:0]  u_o
);

  // stage 1: integrate and leak
  logic                      s1_valid_q;
  logic signed [31:0]        s1_v_q  [LANES];
  logic signed [31:0]        s1_th_q [LANES];
  logic [LANES-1:0]          s1_pol_q, s1_mask_q;

  always_ff @(posedge clk_i) begin
    for (int j = 0; j < LANES; j++) begin
      logic signed [31:0] u, leak;
      u    = first_i ? 32'sd0 : signed'(u_i[j*32 +: 32]);
      leak = u >>> LeakShift;
      s1_v_q[j]  <= leak + signed'(acc_i[j*32 +: 32]) + signed'(bias_i[j*32 +: 32]);
      s1_th_q[j] <= signed'(th_i[j*32 +: 32]);
    end
    s1_pol_q  <= pol_i;
    s1_mask_q <= mask_i;
  end

  // stage 2: fire and reset
  always_ff @(posedge clk_i) begin
    for (int j = 0; j < LANES; j++) begin
      logic fire;
      fire = s1_mask_q[j] && (s1_pol_q[j] ? (s1_v_q[j] < s1_th_q[j]) : (s1_v_q[j] > s1_th_q[j]));
      fire_o[j]         <= fire;
      u_o[j*32 +: 32]   <= fire ? 32'd0 : s1_v_q[j];
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      s1_valid_q <= 1'b0;
      valid_o    <= 1'b0;
    end else begin
      s1_valid_q <= valid_i;
      valid_o    <= s1_valid_q;
    end
  end

endmodule
