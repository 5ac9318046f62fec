// snn_accum - the lanes: per operation, read LANES weights (one word of the
// weight RAM), multiply each by the event value, and add the products into
// LANES accumulators at one address of the job's accumulator bank:
//
//   A0  weight read                      (operation from snn_expand)
//   A1  products; accumulator read
//   A2  sum = accumulator + product, forwarded from A3 / A4 when one of the
//       two previous operations wrote the same address (its write is not yet
//       visible to this read)
//   A3  accumulator write
//
// One operation per cycle, every cycle, with no stall: back-to-back hits on
// the same address are exact. done_o pulses when the end-of-job marker has
// passed A3 (every write of the job is in the RAM).
`default_nettype none

module snn_accum #(
  parameter int unsigned LANES = 8,   // lanes
  parameter int unsigned WAW   = 17,  // weight address bits
  parameter int unsigned XAW   = 13   // accumulator address bits
) (
  input  wire                    clk_i,
  input  wire                    rst_ni,
  input  wire                    bank_i,       // accumulator bank of the job
  // operations
  input  wire                    op_valid_i,
  input  wire                    op_eoj_i,
  input  wire [WAW-1:0]          op_w_i,
  input  wire [XAW-1:0]          op_a_i,
  input  wire [7:0]              op_val_i,
  input  wire [LANES-1:0]        op_mask_i,
  // weight RAM read port
  output logic                   w_re_o,
  output logic [WAW-1:0]         w_addr_o,
  input  wire [LANES*8-1:0]      w_data_i,
  // accumulator bank ports
  output logic                   a_re_o,
  output logic                   a_bank_o,
  output logic [XAW-1:0]         a_raddr_o,
  input  wire [LANES*32-1:0]     a_rdata_i,    // of bank a_bank_o, one cycle after a_re_o
  output logic                   a_we_o,
  output logic [XAW-1:0]         a_waddr_o,
  output logic [LANES*32-1:0]    a_wdata_o,
  output logic                   done_o
);

  // A1
  logic             a1_valid_q, a1_eoj_q;
  logic [XAW-1:0]   a1_addr_q;
  logic [7:0]       a1_val_q;
  logic [LANES-1:0] a1_mask_q;
  // A2
  logic             a2_valid_q, a2_eoj_q;
  logic [XAW-1:0]   a2_addr_q;
  logic signed [15:0] a2_prod_q [LANES];
  // A3, A4
  logic             a3_valid_q, a3_eoj_q, a4_valid_q;
  logic [XAW-1:0]   a3_addr_q, a4_addr_q;
  logic [LANES*32-1:0] a3_sum_q, a4_sum_q;

  assign w_re_o    = op_valid_i;
  assign w_addr_o  = op_w_i;
  assign a_re_o    = a1_valid_q && !a1_eoj_q;
  assign a_bank_o  = bank_i;
  assign a_raddr_o = a1_addr_q;
  assign a_we_o    = a3_valid_q && !a3_eoj_q;
  assign a_waddr_o = a3_addr_q;
  assign a_wdata_o = a3_sum_q;

  // A1: int8 weight x uint8 value, exact in 16 bits (|w*x| <= 127*255)
  logic signed [15:0] prod [LANES];
  always_comb begin
    for (int j = 0; j < LANES; j++)
      prod[j] = 16'(signed'(w_data_i[j*8 +: 8])) * signed'({8'd0, a1_val_q});
  end

  // A2: forwarding and the add
  logic [LANES*32-1:0] base, sum;
  always_comb begin
    if (a3_valid_q && !a3_eoj_q && a3_addr_q == a2_addr_q)      base = a3_sum_q;
    else if (a4_valid_q && a4_addr_q == a2_addr_q)              base = a4_sum_q;
    else                                                        base = a_rdata_i;
    for (int j = 0; j < LANES; j++)
      sum[j*32 +: 32] = base[j*32 +: 32] + 32'(a2_prod_q[j]);
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      a1_valid_q <= 1'b0;
      a1_eoj_q   <= 1'b0;
      a2_valid_q <= 1'b0;
      a2_eoj_q   <= 1'b0;
      a3_valid_q <= 1'b0;
      a3_eoj_q   <= 1'b0;
      a4_valid_q <= 1'b0;
      done_o     <= 1'b0;
    end else begin
      a1_valid_q <= op_valid_i;
      a1_eoj_q   <= op_valid_i && op_eoj_i;
      a2_valid_q <= a1_valid_q;
      a2_eoj_q   <= a1_eoj_q;
      a3_valid_q <= a2_valid_q;
      a3_eoj_q   <= a2_eoj_q;
      a4_valid_q <= a3_valid_q && !a3_eoj_q;
      done_o     <= a3_valid_q && a3_eoj_q;
    end
  end

  always_ff @(posedge clk_i) begin
    a1_addr_q <= op_a_i;
    a1_val_q  <= op_val_i;
    a1_mask_q <= op_mask_i;
    a2_addr_q <= a1_addr_q;
    for (int j = 0; j < LANES; j++)
      a2_prod_q[j] <= a1_mask_q[j] ? prod[j] : 16'sd0;
    a3_addr_q <= a2_addr_q;
    a3_sum_q  <= sum;
    a4_addr_q <= a3_addr_q;
    a4_sum_q  <= a3_sum_q;
  end

`ifdef SNN_DEBUG
  always_ff @(posedge clk_i) begin
    if (a_we_o) $display("acc bank %0d [%0d] <= %h", bank_i, a3_addr_q, a3_sum_q);
    if (op_valid_i) $display("op w %0d a %0d val %0d mask %b eoj %0d", op_w_i, op_a_i, op_val_i, op_mask_i, op_eoj_i);
  end
`endif

endmodule
