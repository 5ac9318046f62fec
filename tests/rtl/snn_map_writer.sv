// snn_map_writer - test equipment for tests/rtl/tb_spike_map.sv: a writer
// that drives a spike map's write port the way a layer-pipeline stage does
// (the kernel's conv stages write their map themselves, snn_conv_stage.sv,
// with up to one pool folded; this one folds up to POOL_MAX). It takes each output pixel's spike word from the LIF
// unit (up to one per cycle) and writes it into the next stage's spike map
// (snn_spike_map write port) with k = pools_i folded 2x2 OR-pools
// (docs/numerics.md, Pool):
//
//   word address  (y >> k, x >> k)
//   dropped       when y >> k >= out_h_i or x >> k >= out_w_i (the odd last
//                 rows / columns a floor pool drops)
//   wr_or_o       k > 0: the word is ORed into (the map's read-modify-write
//                 sustains back-to-back writes to one word)
//
// The word is the spike word unchanged: bit co*TM + t. Every pixel in range
// is written, zero words included, so that every word of the map is written
// once per use of a half (the map's tag scheme relies on it).
// One register stage: wr_* one cycle after valid_i. half_i / tag_i (the map
// half and image tag of the image being written) travel with the pixel.
`default_nettype none

module snn_map_writer #(
  parameter int unsigned COUT     = 32,   // channels (maximum)
  parameter int unsigned TM       = 4,    // time steps (maximum)
  parameter int unsigned POOL_MAX = 2,    // folded pools (maximum)
  parameter int unsigned MAX_H    = 28,   // height of the unpooled map (maximum)
  parameter int unsigned MAX_W    = 28,   // width of the unpooled map (maximum)
  // derived
  parameter int unsigned YW       = $clog2(MAX_H + 1),
  parameter int unsigned XW       = $clog2(MAX_W + 1),
  parameter int unsigned KW       = (POOL_MAX > 0) ? $clog2(POOL_MAX + 1) : 1
) (
  input  wire                   clk_i,
  input  wire                   rst_ni,
  // ---- configuration (static during an image) ----
  input  wire [KW-1:0]          pools_i,     // folded pools, 0 .. POOL_MAX
  input  wire [YW-1:0]          out_h_i,     // size of the written (pooled) map
  input  wire [XW-1:0]          out_w_i,
  input  wire                   half_i,      // map half of the image
  input  wire                   tag_i,       // its image tag
  // ---- pixel in (from the LIF unit) ----
  input  wire                   valid_i,
  input  wire [YW-1:0]          y_i,         // unpooled output pixel
  input  wire [XW-1:0]          x_i,
  input  wire [COUT*TM-1:0]     spikes_i,    // bit co*TM + t
  // ---- to the map's write port ----
  output logic                  wr_valid_o,
  output logic                  wr_half_o,
  output logic [YW-1:0]         wr_y_o,
  output logic [XW-1:0]         wr_x_o,
  output logic [COUT*TM-1:0]    wr_data_o,
  output logic                  wr_or_o,
  output logic                  wr_tag_o
);

  logic [YW-1:0] wy;
  logic [XW-1:0] wx;
  logic          keep;
  assign wy   = y_i >> pools_i;
  assign wx   = x_i >> pools_i;
  assign keep = wy < out_h_i && wx < out_w_i;

  always_ff @(posedge clk_i) begin
    wr_half_o <= half_i;
    wr_y_o    <= wy;
    wr_x_o    <= wx;
    wr_data_o <= spikes_i;
    wr_or_o   <= pools_i != '0;
    wr_tag_o  <= tag_i;
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) wr_valid_o <= 1'b0;
    else         wr_valid_o <= valid_i && keep;
  end

`ifdef SNN_ASSERT
  assert property (@(posedge clk_i) disable iff (!rst_ni) valid_i |-> pools_i <= KW'(POOL_MAX));
`endif

endmodule
