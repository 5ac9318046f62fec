// snn_mul - unsigned multiplier with registered inputs and output (two
// cycles from operands to product). Used where a product is needed at most
// once per cycle (event preparation, the loader's shape arithmetic); the
// registers let synthesis place it in DSP slices with their pipeline
// registers enabled.
`default_nettype none

module snn_mul #(
  parameter int unsigned AW = 16,   // bits of operand a
  parameter int unsigned BW = 16,   // bits of operand b
  parameter int unsigned PW = AW + BW  // bits of the product kept
) (
  input  wire           clk_i,
  input  wire           en_i,       // advance the pipeline
  input  wire [AW-1:0]  a_i,
  input  wire [BW-1:0]  b_i,
  output logic [PW-1:0] p_o         // a*b of the operands presented two enabled cycles ago
);

  logic [AW-1:0]    a_q;
  logic [BW-1:0]    b_q;
  logic [AW+BW-1:0] full;

  assign full = (AW + BW)'(a_q) * (AW + BW)'(b_q);

  always_ff @(posedge clk_i) begin
    if (en_i) begin
      a_q <= a_i;
      b_q <= b_i;
      p_o <= full[PW-1:0];
    end
  end

endmodule
