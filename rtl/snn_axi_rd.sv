// snn_axi_rd - read side of m_axi_gmem: turns commands (8-byte aligned start
// address, number of 8-byte beats) into INCR bursts of at most MAX_BURST
// beats that never cross a 4 KiB boundary, and hands the R beats to the
// consumer in order. Address requests run ahead of the data: the next burst
// is requested as soon as the previous AR handshake is done, bounded only by
// the slave's arready. The consumer's ready is rready (no buffering here).
`default_nettype none

module snn_axi_rd #(
  parameter int unsigned GA        = 64,  // AXI address bits
  parameter int unsigned MAX_BURST = 64   // beats per burst (power of two, <= 256)
) (
  input  wire           clk_i,
  input  wire           rst_ni,
  // command: read `beats` 8-byte beats from `addr` (bits [2:0] ignored)
  input  wire           cmd_valid_i,
  output logic          cmd_ready_o,
  input  wire [GA-1:0]  cmd_addr_i,
  input  wire [23:0]    cmd_beats_i,
  // beats, in order
  output logic          dat_valid_o,
  input  wire           dat_ready_i,
  output logic [63:0]   dat_data_o,
  // AXI4 read address and data channels
  output logic          arvalid_o,
  input  wire           arready_i,
  output logic [GA-1:0] araddr_o,
  output logic [7:0]    arlen_o,
  input  wire           rvalid_i,
  output logic          rready_o,
  input  wire [63:0]    rdata_i
);

  logic unused_addr_bits;
  assign unused_addr_bits = ^cmd_addr_i[2:0];

  logic [GA-1:0] addr_q;     // next burst's address
  logic [23:0]   left_q;     // beats not yet requested
  logic [9:0]    to_page;    // beats to the next 4 KiB boundary
  logic [23:0]   len;        // beats of the next burst

  assign to_page = 10'd512 - {1'b0, addr_q[11:3]};
  always_comb begin
    len = left_q;
    if (len > 24'(MAX_BURST)) len = 24'(MAX_BURST);
    if (len > 24'(to_page))   len = 24'(to_page);
  end

  assign cmd_ready_o = (left_q == '0) && !arvalid_o;
  assign dat_valid_o = rvalid_i;
  assign dat_data_o  = rdata_i;
  assign rready_o    = dat_ready_i;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      addr_q    <= '0;
      left_q    <= '0;
      arvalid_o <= 1'b0;
      araddr_o  <= '0;
      arlen_o   <= '0;
    end else begin
      if (cmd_valid_i && cmd_ready_o) begin
        addr_q <= {cmd_addr_i[GA-1:3], 3'b000};
        left_q <= cmd_beats_i;
      end else if ((!arvalid_o || arready_i) && left_q != '0) begin
        arvalid_o <= 1'b1;
        araddr_o  <= addr_q;
        arlen_o   <= 8'(len - 1'b1);
        addr_q    <= addr_q + GA'({len, 3'b000});
        left_q    <= left_q - len;
      end else if (arready_i) begin
        arvalid_o <= 1'b0;
      end
    end
  end

endmodule
