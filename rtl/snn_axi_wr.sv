// snn_axi_wr - write side of m_axi_gmem: a command names a 4-byte aligned
// byte address and a number of 32-bit words; the words follow on a stream
// and are packed two per 8-byte beat. A chunk that starts or ends in the
// middle of a beat uses byte strobes (0xF0 first / 0x0F last). Bursts are at
// most MAX_BURST beats and never cross a 4 KiB boundary. AW and W run
// independently (both derive the same burst split from the command), so W
// beats may precede their AW as AXI allows. B responses are counted; idle_o
// means every command was written and acknowledged.
`default_nettype none

module snn_axi_wr #(
  parameter int unsigned GA        = 64,  // AXI address bits
  parameter int unsigned MAX_BURST = 64   // beats per burst (power of two, <= 256)
) (
  input  wire           clk_i,
  input  wire           rst_ni,
  // command
  input  wire           cmd_valid_i,
  output logic          cmd_ready_o,
  input  wire [GA-1:0]  cmd_addr_i,     // bits [1:0] ignored
  input  wire [23:0]    cmd_words_i,    // >= 1
  // words
  input  wire           wd_valid_i,
  output logic          wd_ready_o,
  input  wire [31:0]    wd_data_i,
  output logic          idle_o,
  // AXI4 write channels
  output logic          awvalid_o,
  input  wire           awready_i,
  output logic [GA-1:0] awaddr_o,
  output logic [7:0]    awlen_o,
  output logic          wvalid_o,
  input  wire           wready_i,
  output logic [63:0]   wdata_o,
  output logic [7:0]    wstrb_o,
  output logic          wlast_o,
  input  wire           bvalid_i,
  output logic          bready_o
);

  // Beats of the next burst starting at beat address a with n beats left.
  function automatic logic [23:0] burst_len(input logic [8:0] beat_in_page, input logic [23:0] n);
    logic [9:0] to_page;
    to_page = 10'd512 - {1'b0, beat_in_page};
    burst_len = n;
    if (burst_len > 24'(MAX_BURST)) burst_len = 24'(MAX_BURST);
    if (burst_len > 24'(to_page))   burst_len = 24'(to_page);
  endfunction

  logic unused_addr_bits;
  assign unused_addr_bits = ^cmd_addr_i[1:0];

  logic [23:0] beats;   // beats of the command
  assign beats = 24'((25'(cmd_words_i) + 25'(cmd_addr_i[2]) + 25'd1) >> 1);

  // ---- AW ------------------------------------------------------------------------
  logic [GA-1:0] aw_addr_q;
  logic [23:0]   aw_left_q;
  logic [23:0]   aw_len;
  assign aw_len = burst_len(aw_addr_q[11:3], aw_left_q);

  // ---- W ---------------------------------------------------------------------------
  logic [GA-1:0] w_addr_q;      // address of the beat being assembled
  logic [23:0]   w_left_q;      // beats of the command not yet sent
  logic [23:0]   w_words_q;     // words of the command not yet taken
  logic [8:0]    w_burst_q;     // beats left in the current burst (0 = starts a new one)
  logic          w_half_q;      // assembling the upper word of the beat
  logic [31:0]   w_lo_q;        // lower word waiting for its partner
  logic          w_lo_have_q;   // w_lo_q holds a word of this beat
  logic          w_busy;

  assign w_busy = (w_left_q != '0);

  // Output register: one beat, with its strobes and last flag.
  logic beat_done;   // a beat is completed this cycle
  logic [63:0] beat_data;
  logic [7:0]  beat_strb;
  logic        beat_last;
  logic [8:0]  cur_burst;   // beats left in the burst including this one

  assign cur_burst = (w_burst_q == '0) ? 9'(burst_len(w_addr_q[11:3], w_left_q)) : w_burst_q;

  // A word can be taken when the output register is free (or leaving).
  logic out_free;
  assign out_free   = !wvalid_o || wready_i;
  assign wd_ready_o = w_busy && (w_words_q != '0) && out_free;

  always_comb begin
    beat_done = 1'b0;
    beat_data = {wd_data_i, w_lo_q};
    beat_strb = 8'hFF;
    if (wd_valid_i && wd_ready_o) begin
      if (w_half_q) begin
        beat_done = 1'b1;
        beat_data = {wd_data_i, w_lo_q};
        beat_strb = w_lo_have_q ? 8'hFF : 8'hF0;
      end else if (w_words_q == 24'd1) begin
        beat_done = 1'b1;                     // last word in a lower half
        beat_data = {32'd0, wd_data_i};
        beat_strb = 8'h0F;
      end
    end
  end
  assign beat_last = (cur_burst == 9'd1);

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      aw_addr_q   <= '0;
      aw_left_q   <= '0;
      awvalid_o   <= 1'b0;
      awaddr_o    <= '0;
      awlen_o     <= '0;
      w_addr_q    <= '0;
      w_left_q    <= '0;
      w_words_q   <= '0;
      w_burst_q   <= '0;
      w_half_q    <= 1'b0;
      w_lo_q      <= '0;
      w_lo_have_q <= 1'b0;
      wvalid_o    <= 1'b0;
      wdata_o     <= '0;
      wstrb_o     <= '0;
      wlast_o     <= 1'b0;
    end else begin
      if (cmd_valid_i && cmd_ready_o) begin
        aw_addr_q   <= {cmd_addr_i[GA-1:3], 3'b000};
        aw_left_q   <= beats;
        w_addr_q    <= {cmd_addr_i[GA-1:3], 3'b000};
        w_left_q    <= beats;
        w_words_q   <= cmd_words_i;
        w_burst_q   <= '0;
        w_half_q    <= cmd_addr_i[2];
        w_lo_have_q <= 1'b0;
      end
      // AW
      if ((!awvalid_o || awready_i) && aw_left_q != '0) begin
        awvalid_o <= 1'b1;
        awaddr_o  <= aw_addr_q;
        awlen_o   <= 8'(aw_len - 1'b1);
        aw_addr_q <= aw_addr_q + GA'({aw_len, 3'b000});
        aw_left_q <= aw_left_q - aw_len;
      end else if (awready_i) begin
        awvalid_o <= 1'b0;
      end
      // W
      if (wvalid_o && wready_i) wvalid_o <= 1'b0;
      if (wd_valid_i && wd_ready_o) begin
        w_words_q <= w_words_q - 1'b1;
        if (!w_half_q) begin
          w_lo_q      <= wd_data_i;
          w_lo_have_q <= 1'b1;
        end
        w_half_q <= !w_half_q;
      end
      if (beat_done) begin
        wvalid_o    <= 1'b1;
        wdata_o     <= beat_data;
        wstrb_o     <= beat_strb;
        wlast_o     <= beat_last;
        w_addr_q    <= w_addr_q + GA'(8);
        w_left_q    <= w_left_q - 1'b1;
        w_burst_q   <= cur_burst - 1'b1;
        w_half_q    <= 1'b0;
        w_lo_have_q <= 1'b0;
      end
    end
  end

  // ---- B ---------------------------------------------------------------------------
  logic [15:0] pending_q;  // bursts issued but not acknowledged
  logic        aw_hs, b_hs;
  assign aw_hs    = awvalid_o && awready_i;
  assign b_hs     = bvalid_i && bready_o;
  assign bready_o = 1'b1;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) pending_q <= '0;
    else begin
      unique case ({aw_hs, b_hs})
        2'b10:   pending_q <= pending_q + 1'b1;
        2'b01:   pending_q <= pending_q - 1'b1;
        default: pending_q <= pending_q;
      endcase
    end
  end

  assign cmd_ready_o = (aw_left_q == '0) && !w_busy;
  assign idle_o      = cmd_ready_o && !awvalid_o && !wvalid_o && (pending_q == '0);

endmodule
