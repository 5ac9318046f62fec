// snn_fifo - synchronous first-in first-out queue with valid/ready on both
// sides. The kernel's spike queue (events from the scanner to the expander)
// and its small job/token queues are instances. Full and empty are exact:
// in_ready_o = not full, out_valid_o = not empty; a push into a full queue or
// a pop from an empty one is ignored (the handshake did not happen).
`default_nettype none

module snn_fifo #(
  parameter int unsigned WIDTH = 32,                        // bits per entry
  parameter int unsigned DEPTH = 8,                         // entries (power of two)
  parameter int unsigned CW    = $clog2(DEPTH) + 1          // count bits
) (
  input  wire              clk_i,
  input  wire              rst_ni,
  input  wire              clear_i,      // drop every entry
  input  wire              in_valid_i,
  output logic             in_ready_o,
  input  wire [WIDTH-1:0]  in_data_i,
  output logic             out_valid_o,
  input  wire              out_ready_i,
  output logic [WIDTH-1:0] out_data_o,
  output logic [CW-1:0]    count_o
);

  localparam int unsigned PW = (DEPTH > 1) ? $clog2(DEPTH) : 1;

  logic [WIDTH-1:0] mem_q [DEPTH];
  logic [PW-1:0]    wptr_q, rptr_q;
  logic [CW-1:0]    count_q;
  logic             push, pop;

  assign in_ready_o  = (count_q != CW'(DEPTH));
  assign out_valid_o = (count_q != '0);
  assign out_data_o  = mem_q[rptr_q];
  assign count_o     = count_q;
  assign push        = in_valid_i && in_ready_o;
  assign pop         = out_valid_o && out_ready_i;

  always_ff @(posedge clk_i) begin
    if (push) mem_q[wptr_q] <= in_data_i;
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni || clear_i) begin
      wptr_q  <= '0;
      rptr_q  <= '0;
      count_q <= '0;
    end else begin
      if (push) wptr_q <= (DEPTH > 1) ? PW'(wptr_q + 1'b1) : '0;
      if (pop)  rptr_q <= (DEPTH > 1) ? PW'(rptr_q + 1'b1) : '0;
      unique case ({push, pop})
        2'b10:   count_q <= count_q + 1'b1;
        2'b01:   count_q <= count_q - 1'b1;
        default: count_q <= count_q;
      endcase
    end
  end

`ifndef SYNTHESIS
  initial begin
    if (DEPTH < 1 || (DEPTH & (DEPTH - 1)) != 0) $fatal(1, "snn_fifo: DEPTH must be a power of two");
  end
`endif

endmodule
