// snn_pipe_fetch - the image source of the layer-pipeline kernel: reads one
// uint8 CHW image through the read side of m_axi_gmem and writes it into the
// image map (the input map of stage 0, docs/rtl-pipeline.md): one word per
// pixel (y, x), channel c in bits [c*8 +: 8]. One byte per cycle, written
// with OR into the word (the map's tag makes the first write of a use start
// from zero), so an image of any channel count needs no gather buffer.
// done_o pulses once the last write has left; the map commits it within
// three cycles (the kernel waits for that before stage 0 reads the half).
`default_nettype none

module snn_pipe_fetch #(
  parameter int unsigned GA   = 64,
  parameter int unsigned CIN  = 1,     // channels of a map word (maximum)
  parameter int unsigned YW   = 5,
  parameter int unsigned XW   = 5
) (
  input  wire                clk_i,
  input  wire                rst_ni,
  input  wire                start_i,      // pulse
  input  wire [GA-1:0]       addr_i,       // byte address of the image
  input  wire [31:0]         bytes_i,      // in_c * in_h * in_w
  input  wire [15:0]         in_h_i,
  input  wire [15:0]         in_w_i,
  output logic               busy_o,
  output logic               done_o,
  // read commands and beats (snn_axi_rd)
  output logic               cmd_valid_o,
  input  wire                cmd_ready_i,
  output logic [GA-1:0]      cmd_addr_o,
  output logic [23:0]        cmd_beats_o,
  input  wire                dat_valid_i,
  output logic               dat_ready_o,
  input  wire [63:0]         dat_i,
  // image map write port
  output logic               wr_valid_o,
  output logic [YW-1:0]      wr_y_o,
  output logic [XW-1:0]      wr_x_o,
  output logic [CIN*8-1:0]   wr_data_o
);

  localparam int unsigned CW = (CIN > 1) ? $clog2(CIN) : 1;

  logic          run_q;
  logic [23:0]   beats_left_q;
  logic [63:0]   beat_q;
  logic [3:0]    in_beat_q;      // bytes left in beat_q
  logic [2:0]    skip_q;         // leading bytes of the first beat to drop
  logic [31:0]   left_q;         // image bytes still to write
  logic [CW-1:0] c_q;
  logic [15:0]   y_q, x_q;

  wire byte_valid = in_beat_q != 0 && left_q != 0;
  wire take       = byte_valid && skip_q == 0;
  wire last_of_beat = in_beat_q == 4'd1;
  assign dat_ready_o = beats_left_q != 0 && (in_beat_q == 0 || (byte_valid && last_of_beat));
  assign busy_o = run_q;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      run_q        <= 1'b0;
      cmd_valid_o  <= 1'b0;
      beats_left_q <= '0;
      in_beat_q    <= '0;
      left_q       <= '0;
      wr_valid_o   <= 1'b0;
      done_o       <= 1'b0;
    end else begin
      wr_valid_o <= 1'b0;
      done_o     <= 1'b0;
      if (cmd_valid_o && cmd_ready_i) cmd_valid_o <= 1'b0;

      if (start_i && !run_q) begin
        run_q        <= 1'b1;
        cmd_valid_o  <= 1'b1;
        cmd_addr_o   <= {addr_i[GA-1:3], 3'b000};
        cmd_beats_o  <= 24'((32'(addr_i[2:0]) + bytes_i + 32'd7) >> 3);
        beats_left_q <= 24'((32'(addr_i[2:0]) + bytes_i + 32'd7) >> 3);
        skip_q       <= addr_i[2:0];
        left_q       <= bytes_i;
        c_q          <= '0;
        y_q          <= '0;
        x_q          <= '0;
      end

      if (dat_valid_i && dat_ready_o) begin
        beat_q       <= dat_i;
        in_beat_q    <= 4'd8;
        beats_left_q <= beats_left_q - 1'b1;
      end else if (byte_valid) begin
        beat_q    <= beat_q >> 8;
        in_beat_q <= in_beat_q - 1'b1;
      end
      if (byte_valid && skip_q != 0) skip_q <= skip_q - 1'b1;
      if (left_q == 32'd1 && take) in_beat_q <= (dat_valid_i && dat_ready_o) ? 4'd8 : 4'd0;

      if (take) begin
        logic [CIN*8-1:0] d;
        d = '0;
        d[c_q*8 +: 8] = beat_q[7:0];
        wr_valid_o <= 1'b1;
        wr_y_o     <= YW'(y_q);
        wr_x_o     <= XW'(x_q);
        wr_data_o  <= d;
        left_q     <= left_q - 1'b1;
        if (x_q + 1'b1 == in_w_i) begin
          x_q <= '0;
          if (y_q + 1'b1 == in_h_i) begin
            y_q <= '0;
            c_q <= c_q + 1'b1;
          end else y_q <= y_q + 1'b1;
        end else x_q <= x_q + 1'b1;
      end
      if (run_q && left_q == 0 && beats_left_q == 0 && !cmd_valid_o) begin
        run_q  <= 1'b0;
        done_o <= 1'b1;
      end
    end
  end

endmodule
