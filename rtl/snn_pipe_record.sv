// snn_pipe_record - the result record writer of the layer-pipeline kernel
// (include/snn-deploy-format.h): when the output stage finishes an image it
// captures the sums, the prediction and the per-stage counters, spreads the
// counters over the deploy image's layers (a stage computes one layer and may
// carry a folded pool; a pass-through stage counts nothing), and writes
//
//   int32 sums[K], int32 pred, uint32 spikes[L], uint32 synops[L],
//   uint32 events[L], zeros
//
// Events (docs/numerics.md, "Counters": firing input neurons x synapses
// reached, each input once per image) are the stage's events_o: its engines
// issue every nonzero entry of the input map once (a T-bit vector, or a
// pixel), times the taps it reaches inside the map (conv) and out_c. The map
// a stage reads holds the previous layer's output, pooled when a pool is
// folded into the previous stage, so events_o is the events of the stage's
// own layer; a folded pool's events are 0, and so are those of a
// pass-through stage, which has no layer.
//
// (snn_result_stride() bytes) through the write side of m_axi_gmem, one
// word per cycle. nofit_i writes the record of an image that does not fit:
// zeros and pred = -1.
`default_nettype none

module snn_pipe_record #(
  parameter int unsigned GA     = 64,
  parameter int unsigned NCLS   = 64,           // classes (maximum)
  parameter int unsigned NS     = 5             // stages
) (
  input  wire                 clk_i,
  input  wire                 rst_ni,
  // configuration
  input  wire [6:0]           n_classes_i,
  input  wire [4:0]           n_layers_i,
  input  wire [NS*5-1:0]      layer_of_i,       // layer computed by stage s (5'h1f: none)
  input  wire [NS*5-1:0]      pool_of_i,        // pool folded into stage s (5'h1f: none)
  // capture
  input  wire                 cap_i,            // pulse: capture one image's record
  output logic                ready_o,          // free to capture
  input  wire                 nofit_i,
  input  wire [GA-1:0]        addr_i,           // byte address of the record
  input  wire [NCLS*32-1:0]   sums_i,
  input  wire [31:0]          pred_i,
  input  wire [NS*32-1:0]     spikes_i,
  input  wire [NS*32-1:0]     pool_spikes_i,
  input  wire [NS*32-1:0]     synops_i,
  input  wire [NS*32-1:0]     events_i,
  // writes (snn_axi_wr)
  output logic                cmd_valid_o,
  input  wire                 cmd_ready_i,
  output logic [GA-1:0]       cmd_addr_o,
  output logic [23:0]         cmd_words_o,
  output logic                wd_valid_o,
  input  wire                 wd_ready_i,
  output logic [31:0]         wd_data_o
);

  localparam logic [4:0] NONE = 5'h1f;

  localparam int unsigned KW = (NCLS > 1) ? $clog2(NCLS) : 1;
  // The capture keeps each stage's counters in the stage's own registers
  // (no write at a layer index) and the sums as they are; the word mux
  // finds the stage of a layer by comparing layer_of_i / pool_of_i (static
  // while images run), and a record that does not fit reads as zeros (but
  // pred = -1).
  logic [31:0] sums_q   [NCLS];
  logic [31:0] pred_q;
  logic        nofit_q;
  logic [31:0] spk_q    [NS];   // stage s: spikes of its layer
  logic [31:0] pspk_q   [NS];   //          spikes of the pool folded into it
  logic [31:0] syn_q    [NS];
  logic [31:0] ev_q     [NS];
  logic        busy_q;
  logic [7:0]  w_q, n_words_q;

  // words of the record: K + 1 + 3L, rounded up to 16 (64 bytes)
  wire [7:0] words = 8'(({1'b0, n_classes_i} + 8'd1 + 8'(3 * n_layers_i) + 8'd15) & ~8'd15);
  assign ready_o = !busy_q;

  always_comb begin
    int unsigned K, L, kind;
    logic [4:0]  l;
    K = int'(n_classes_i);
    L = int'(n_layers_i);
    wd_data_o = '0;
    kind = 0;
    l    = '0;
    if (int'(w_q) < K) wd_data_o = sums_q[KW'(w_q)];
    else if (int'(w_q) == K) wd_data_o = pred_q;
    else if (int'(w_q) < K + 1 + 3*L) begin
      // counter kind (0 spikes, 1 synops, 2 events) and layer of word w_q
      if (int'(w_q) < K + 1 + L)        begin kind = 0; l = 5'(int'(w_q) - K - 1); end
      else if (int'(w_q) < K + 1 + 2*L) begin kind = 1; l = 5'(int'(w_q) - K - 1 - L); end
      else                               begin kind = 2; l = 5'(int'(w_q) - K - 1 - 2*L); end
      for (int st = 0; st < int'(NS); st++) begin   // (at most one stage matches)
        if (layer_of_i[st*5 +: 5] != NONE && layer_of_i[st*5 +: 5] == l)
          wd_data_o = wd_data_o | (kind == 0 ? spk_q[st] : kind == 1 ? syn_q[st] : ev_q[st]);
        if (kind == 0 && pool_of_i[st*5 +: 5] != NONE && pool_of_i[st*5 +: 5] == l)
          wd_data_o = wd_data_o | pspk_q[st];
      end
    end
    if (nofit_q && int'(w_q) != K) wd_data_o = '0;
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      busy_q      <= 1'b0;
      cmd_valid_o <= 1'b0;
      wd_valid_o  <= 1'b0;
    end else begin
      if (cmd_valid_o && cmd_ready_i) cmd_valid_o <= 1'b0;
      if (cap_i && !busy_q) begin
        busy_q      <= 1'b1;
        cmd_valid_o <= 1'b1;
        cmd_addr_o  <= addr_i;
        cmd_words_o <= 24'(words);
        n_words_q   <= words;
        w_q         <= '0;
        wd_valid_o  <= 1'b1;
      end
      if (wd_valid_o && wd_ready_i) begin
        if (w_q + 1'b1 == n_words_q) begin
          wd_valid_o <= 1'b0;
          busy_q     <= 1'b0;
        end
        w_q <= w_q + 1'b1;
      end
    end
  end

  // the captured values (no reset: read only after a capture)
  always_ff @(posedge clk_i) begin
    if (cap_i && !busy_q) begin
      for (int k = 0; k < int'(NCLS); k++) sums_q[k] <= sums_i[k*32 +: 32];
      pred_q  <= nofit_i ? 32'hFFFF_FFFF : pred_i;
      nofit_q <= nofit_i;
      for (int st = 0; st < int'(NS); st++) begin
        spk_q[st]  <= spikes_i[st*32 +: 32];
        pspk_q[st] <= pool_spikes_i[st*32 +: 32];
        syn_q[st]  <= synops_i[st*32 +: 32];
        ev_q[st]   <= events_i[st*32 +: 32];
      end
    end
  end
endmodule
