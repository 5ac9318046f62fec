// snn_pix_fetch - fetches the images of a run, one after the other, into a
// two-slot pixel buffer (image i into slot i%2), so the next image arrives
// while the current one is processed. An image starts at images + i*n_pix,
// which need not be 8-byte aligned: the aligned beats are read and every
// buffer word is assembled from two neighbouring beats, so buffer word w of a
// slot holds pixels 8w..8w+7 of the image (pixel n in byte n%8).
`default_nettype none

module snn_pix_fetch
  import snn_pkg::*;
#(
  parameter int unsigned GA  = 64,   // AXI address bits
  parameter int unsigned PAW = 9     // pixel-buffer word address bits of one slot
) (
  input  wire                clk_i,
  input  wire                rst_ni,
  input  wire                start_i,      // pulse: fetch n_images images
  input  wire [GA-1:0]       images_i,
  input  wire [AddrW-1:0]    n_pix_i,      // bytes per image (>= 1)
  input  wire [31:0]         n_images_i,
  // read engine
  output logic               cmd_valid_o,
  input  wire                cmd_ready_i,
  output logic [GA-1:0]      cmd_addr_o,
  output logic [23:0]        cmd_beats_o,
  input  wire                dat_valid_i,
  output logic               dat_ready_o,
  input  wire [63:0]         dat_data_i,
  // pixel buffer
  output logic               pb_we_o,
  output logic [PAW:0]       pb_addr_o,    // {slot, word}
  output logic [63:0]        pb_data_o,
  output logic [1:0]         full_o,       // slot holds an image not yet consumed
  input  wire  [1:0]         release_i     // consumer is done with the slot
);

  typedef enum logic [2:0] { SIdle, SWait, SCmd, SDat, SFlush } state_e;

  state_e        state_q, state_d;
  logic [31:0]   left_q;        // images still to fetch
  logic          slot_q;
  logic [GA-1:0] addr_q;        // byte address of the current image
  logic [23:0]   beats_q;       // beats still to receive
  logic [23:0]   words_q;       // buffer words of the image (ceil(n_pix / 8))
  logic [PAW-1:0] widx_q;       // next buffer word to write
  logic          have_prev_q;   // prev_q holds the previous beat
  logic [63:0]   prev_q;
  logic [2:0]    off_q;         // byte offset of the image in its first beat
  logic [23:0]   n_beats;

  assign n_beats = 24'((25'(n_pix_i) + 25'(addr_q[2:0]) + 25'd7) >> 3);

  always_comb begin
    state_d = state_q;
    unique case (state_q)
      SIdle:  if (start_i) state_d = SWait;
      SWait:  if (left_q == '0) state_d = SIdle;
              else if (!full_o[slot_q]) state_d = SCmd;
      SCmd:   if (cmd_ready_i) state_d = SDat;
      SDat:   if (dat_valid_i && beats_q == 24'd1) state_d = SFlush;
      SFlush: state_d = SWait;
      default: state_d = SIdle;
    endcase
  end

  assign cmd_valid_o = (state_q == SCmd);
  assign cmd_addr_o  = {addr_q[GA-1:3], 3'b000};
  assign cmd_beats_o = n_beats;
  assign dat_ready_o = (state_q == SDat);

  // Word assembly: bytes off..off+7 of {cur, prev}.
  function automatic logic [63:0] join_beats(input logic [63:0] lo, input logic [63:0] hi,
                                             input logic [2:0] off);
    join_beats = 64'({hi, lo} >> {off, 3'b000});
  endfunction

  always_comb begin
    pb_we_o   = 1'b0;
    pb_data_o = join_beats(prev_q, dat_data_i, off_q);
    if (state_q == SDat && dat_valid_i && have_prev_q) pb_we_o = 1'b1;
    if (state_q == SFlush && 24'(widx_q) < words_q) begin
      pb_we_o   = 1'b1;
      pb_data_o = join_beats(prev_q, 64'd0, off_q);
    end
    pb_addr_o = {slot_q, widx_q};
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      state_q     <= SIdle;
      left_q      <= '0;
      slot_q      <= 1'b0;
      full_o      <= 2'b00;
      addr_q      <= '0;
      beats_q     <= '0;
      words_q     <= '0;
      widx_q      <= '0;
      have_prev_q <= 1'b0;
      prev_q      <= '0;
      off_q       <= '0;
    end else begin
      state_q <= state_d;
      full_o  <= full_o & ~release_i;
      unique case (state_q)
        SIdle: if (start_i) begin
          left_q <= n_images_i;
          slot_q <= 1'b0;
          addr_q <= images_i;
          full_o <= 2'b00;
        end
        SCmd: begin
          beats_q     <= n_beats;
          words_q     <= 24'((25'(n_pix_i) + 25'd7) >> 3);
          widx_q      <= '0;
          have_prev_q <= 1'b0;
          off_q       <= addr_q[2:0];
        end
        SDat: if (dat_valid_i) begin
          prev_q      <= dat_data_i;
          have_prev_q <= 1'b1;
          beats_q     <= beats_q - 1'b1;
          if (have_prev_q) widx_q <= widx_q + 1'b1;
        end
        SFlush: begin
          full_o[slot_q] <= 1'b1;
          slot_q <= !slot_q;
          left_q <= left_q - 1'b1;
          addr_q <= addr_q + GA'(n_pix_i);
        end
        default: ;
      endcase
    end
  end

endmodule
