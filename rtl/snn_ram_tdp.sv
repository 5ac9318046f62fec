// snn_ram_tdp - a RAM with two registered read ports, one of which also
// writes (true dual-port block RAM: port A reads or writes, port B reads).
// The weight RAM of a conv stage: one copy serves two engines; the loader
// writes through port A while the engines are idle. One cycle of read latency.
`default_nettype none

module snn_ram_tdp #(
  parameter int unsigned WIDTH = 256,
  parameter int unsigned DEPTH = 512,
  parameter int unsigned AW    = (DEPTH > 1) ? $clog2(DEPTH) : 1
) (
  input  wire              clk_i,
  // port A: write (we_a_i) or read (re_a_i) at addr_a_i
  input  wire              we_a_i,
  input  wire              re_a_i,
  input  wire [AW-1:0]     addr_a_i,
  input  wire [WIDTH-1:0]  wdata_a_i,
  output logic [WIDTH-1:0] rdata_a_o,
  // port B: read
  input  wire              re_b_i,
  input  wire [AW-1:0]     addr_b_i,
  output logic [WIDTH-1:0] rdata_b_o
);

  logic [WIDTH-1:0] mem_q [DEPTH];

  always_ff @(posedge clk_i) begin
    if (we_a_i) mem_q[addr_a_i] <= wdata_a_i;
    else if (re_a_i) rdata_a_o <= mem_q[addr_a_i];
  end

  always_ff @(posedge clk_i) begin
    if (re_b_i) rdata_b_o <= mem_q[addr_b_i];
  end

endmodule
