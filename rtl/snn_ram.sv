// snn_ram - simple dual-port RAM: one write port, one read port with a
// registered output (one cycle of read latency), one clock. A read of the
// address written in the same cycle returns the old word (read-first); the
// kernel never relies on that value (the accumulator forwards around it).
// Infers block RAM / UltraRAM in synthesis.
`default_nettype none

module snn_ram #(
  parameter int unsigned WIDTH = 32,                      // bits per word
  parameter int unsigned DEPTH = 1024,                    // words
  parameter int unsigned AW    = (DEPTH > 1) ? $clog2(DEPTH) : 1  // address bits
) (
  input  wire              clk_i,
  input  wire              we_i,
  input  wire [AW-1:0]     waddr_i,
  input  wire [WIDTH-1:0]  wdata_i,
  input  wire              re_i,
  input  wire [AW-1:0]     raddr_i,
  output logic [WIDTH-1:0] rdata_o
);

  logic [WIDTH-1:0] mem_q [DEPTH];

  always_ff @(posedge clk_i) begin
    if (we_i) mem_q[waddr_i] <= wdata_i;
    if (re_i) rdata_o <= mem_q[raddr_i];
  end

endmodule
