// snn_pkg - types and constants shared by the blocks of the RTL kernel.
//
// The deploy-image constants mirror include/snn-deploy-format.h; the layer
// configuration record is what snn_loader derives from a layer descriptor
// and what the accumulate and post sides read while they run that layer.
`default_nettype none

package snn_pkg;

  // Deploy image (include/snn-deploy-format.h).
  localparam logic [31:0] ImageMagic   = 32'h4E42504D;  // "MPBN"
  localparam logic [15:0] VersionMajor = 16'd1;         // the only major accepted
  localparam int unsigned DescWords    = 20;            // 80-byte layer descriptor
  localparam int unsigned LeakShift    = 2;             // tau = 0.25: u >>> 2

  // Layer kinds (snn_layer_kind).
  localparam logic [2:0] KindConv = 3'd1;  // 3x3 pad 1 + LIF
  localparam logic [2:0] KindPool = 3'd2;  // 2x2 OR
  localparam logic [2:0] KindFc   = 3'd3;  // fully connected + LIF
  localparam logic [2:0] KindOut  = 3'd4;  // fully connected, sums over T

  // Field widths.
  localparam int unsigned DimW  = 13;  // a dimension: 1..4096
  localparam int unsigned AddrW = 24;  // any on-chip address or per-layer count after the fit check

  // Per-layer configuration, derived once per run by snn_loader.
  typedef struct packed {
    logic [2:0]       kind;        // KindConv .. KindOut
    logic [DimW-1:0]  in_c;        // input shape
    logic [DimW-1:0]  in_h;
    logic [DimW-1:0]  in_w;
    logic [DimW-1:0]  out_c;       // output shape
    logic [DimW-1:0]  out_h;
    logic [DimW-1:0]  out_w;
    logic [AddrW-1:0] hw_in;       // in_h * in_w
    logic [AddrW-1:0] hw_out;      // out_h * out_w
    logic [DimW-1:0]  grp;         // output channel groups: ceil(out_c / LANES)
    logic [4:0]       last_lanes;  // lanes used by the last group: 1..LANES
    logic [7:0]       wpr;         // spike-map words per output row: ceil(out_w / 32)
    logic [AddrW-1:0] wps;         // spike-map words per step and lane: grp * out_h * wpr
    logic [AddrW-1:0] w_base;      // weight RAM address of fan-out row 0
    logic [AddrW-1:0] g9;          // 9 * grp: weight rows of one conv input channel
    logic [AddrW-1:0] th_base;     // threshold / polarity RAM address of neuron group 0
    logic [AddrW-1:0] b_base;      // bias RAM address of group 0
    logic             map_buf;     // spike-map buffer holding this layer's output
    logic [AddrW-1:0] tr_words;    // trace words of one step: ceil(n_out / 32)
    logic [AddrW-1:0] tr_off;      // word offset of this layer inside one step of the trace
    logic [8:0]       src_gbase;   // post group index (lif index * T) of the LIF layer feeding this one
  } layer_cfg_t;

  // One input event of the accumulate side.
  typedef struct packed {
    logic             eoj;         // end-of-job marker (no event)
    logic [DimW-1:0]  c;           // input channel
    logic [DimW-1:0]  y;           // input row
    logic [DimW-1:0]  x;           // input column
    logic [AddrW-1:0] p;           // y * in_w + x
    logic [7:0]       val;         // pixel value (layer 0) or 1 (spike)
  } event_t;
  localparam int unsigned EventW = 1 + 3 * DimW + AddrW + 8;  // $bits(event_t)

  // Ceiling of a / 2^s for counts.
  function automatic logic [AddrW-1:0] ceil_shr(input logic [AddrW-1:0] a, input int unsigned s);
    ceil_shr = (a + AddrW'((1 << s) - 1)) >> s;
  endfunction

endpackage
