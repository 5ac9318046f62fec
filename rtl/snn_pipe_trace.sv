// snn_pipe_trace - trace mode of the layer-pipeline kernel: the spike trace
// of include/snn-deploy-format.h (what `mpbn compare` checks), one image at a
// time. The kernel runs one image through the pipeline, the record writer
// writes its record, then this module writes its trace:
//
//   for t = 0..T-1, for every layer l but the out layer: the output bitmap of
//   layer l at step t, n_out bits in CHW order, LSB first in 32-bit words
//   (each layer starts a new word); then the K sums.
//
// Sources. Each conv stage's unpooled LIF output, out_c x T bits per pixel,
// is kept in a trace buffer (one word per pixel, written as the stage runs):
// a conv layer reads its bit there; a pool folded into stage s is the OR of
// the 2x2 block of stage s's buffer (a pass-through stage's buffer holds a
// copy of its input, so a second pool works the same way). The fc layer's
// output word is captured when the fc stage writes it. The sums come from
// the output stage, which holds them until the next image starts (trace
// mode serialises the pipeline).
//
// Speed: one buffer read per cycle, so one cycle per conv or fc bit and four
// per pool bit (trace mode is for compare; the image's compute is serialised
// with it).
`default_nettype none

module snn_pipe_trace #(
  parameter int unsigned GA     = 64,
  parameter int unsigned TM     = 4,
  parameter int unsigned W0 = 32 * 4, parameter int unsigned D0 = 784,   // stage buffers: word bits, pixels
  parameter int unsigned W1 = 32 * 4, parameter int unsigned D1 = 784,
  parameter int unsigned W2 = 64 * 4, parameter int unsigned D2 = 196,
  parameter int unsigned WF = 128 * 4,                                   // fc output word
  parameter int unsigned NCLS = 64
) (
  input  wire                 clk_i,
  input  wire                 rst_ni,
  // configuration: per layer l (index l*16 +: 16) its output shape, and its
  // stage (3 bits at l*3, 7: none) with a pool flag (bit l)
  input  wire [4:0]           t_steps_i,
  input  wire [4:0]           n_layers_i,
  input  wire [6:0]           n_classes_i,
  input  wire [255:0]         lay_c_i, lay_h_i, lay_w_i,
  input  wire [47:0]          lay_stage_i,
  input  wire [15:0]          lay_pool_i,
  input  wire [47:0]          stage_w_i,      // conv stage s map width (s*16 +: 16)
  // buffer writes (the stages' LIF outputs)
  // (pixel indices are 32 bits; a buffer's address takes the bits its depth needs)
  /* verilator lint_off UNUSEDSIGNAL */
  input  wire                 tr0_valid_i, input wire [31:0] tr0_pix_i, input wire [W0-1:0] tr0_data_i,
  input  wire                 tr1_valid_i, input wire [31:0] tr1_pix_i, input wire [W1-1:0] tr1_data_i,
  input  wire                 tr2_valid_i, input wire [31:0] tr2_pix_i, input wire [W2-1:0] tr2_data_i,
  /* verilator lint_on UNUSEDSIGNAL */
  input  wire                 fc_valid_i,  input wire [WF-1:0] fc_data_i,
  input  wire [NCLS*32-1:0]   sums_i,
  // one image's trace
  input  wire                 start_i,        // pulse
  input  wire [GA-1:0]        addr_i,         // byte address of the image's trace
  output logic                busy_o,
  output logic [31:0]         words_o,        // words of one image's trace
  // writes (snn_axi_wr)
  output logic                cmd_valid_o,
  input  wire                 cmd_ready_i,
  output logic [GA-1:0]       cmd_addr_o,
  output logic [23:0]         cmd_words_o,
  output logic                wd_valid_o,
  input  wire                 wd_ready_i,
  output logic [31:0]         wd_data_o
);

  localparam int unsigned A0 = (D0 > 1) ? $clog2(D0) : 1;
  localparam int unsigned A1 = (D1 > 1) ? $clog2(D1) : 1;
  localparam int unsigned A2 = (D2 > 1) ? $clog2(D2) : 1;

  // ---- buffers ------------------------------------------------------------------
  logic              re;
  /* verilator lint_off UNUSEDSIGNAL */  // (the address bits the deepest buffer needs)
  logic [31:0]       raddr;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [W0-1:0]     q0;
  logic [W1-1:0]     q1;
  logic [W2-1:0]     q2;
  logic [WF-1:0]     fc_q;
  snn_ram #(.WIDTH(W0), .DEPTH(D0)) u_b0 (.clk_i, .we_i(tr0_valid_i), .waddr_i(A0'(tr0_pix_i)),
    .wdata_i(tr0_data_i), .re_i(re), .raddr_i(A0'(raddr)), .rdata_o(q0));
  snn_ram #(.WIDTH(W1), .DEPTH(D1)) u_b1 (.clk_i, .we_i(tr1_valid_i), .waddr_i(A1'(tr1_pix_i)),
    .wdata_i(tr1_data_i), .re_i(re), .raddr_i(A1'(raddr)), .rdata_o(q1));
  snn_ram #(.WIDTH(W2), .DEPTH(D2)) u_b2 (.clk_i, .we_i(tr2_valid_i), .waddr_i(A2'(tr2_pix_i)),
    .wdata_i(tr2_data_i), .re_i(re), .raddr_i(A2'(raddr)), .rdata_o(q2));
  always_ff @(posedge clk_i) if (fc_valid_i) fc_q <= fc_data_i;

  // ---- walk ------------------------------------------------------------------------
  // Front (cycle 0): the read of the next (l, t, c, y, x) bit, or of the next
  // 2x2 position of a pool bit, one per cycle. Back (cycle 1): the bit is
  // there; pool positions OR together, every finished bit goes into the
  // word, every full word (or the end of a layer) into a small queue that
  // feeds the write port. The front stops while the queue has no room for
  // what is in flight.
  typedef enum logic [1:0] { T_IDLE, T_BITS, T_SUMS, T_END } state_t;
  state_t st_q;
  logic [4:0]  t_q, l_q;
  logic [15:0] c_q, y_q, x_q;
  logic [1:0]  k_q;                 // 2x2 position of a pool bit
  logic [6:0]  s_q;                 // sum index
  logic        bits_done_q;         // the front has issued the last bit

  wire [2:0]  stg   = lay_stage_i[l_q*3 +: 3];
  wire        pool  = lay_pool_i[4'(l_q)];   // (l_q < 16 layers)
  wire [15:0] lc    = lay_c_i[l_q*16 +: 16];
  wire [15:0] lh    = lay_h_i[l_q*16 +: 16];
  wire [15:0] lw    = lay_w_i[l_q*16 +: 16];
  wire [15:0] sw    = (stg < 3'd3) ? stage_w_i[stg*16 +: 16] : 16'd1;
  wire        last_in_layer = (c_q + 1'b1 == lc) && (y_q + 1'b1 == lh) && (x_q + 1'b1 == lw);
  wire        last_k = !pool || k_q == 2'd3;

  // words of the trace: T * sum over layers but the last of ceil(n_out/32), + K.
  // The configuration is static while images run, so the sum is swept one
  // layer per cycle (16 layers, products in a 2-deep pipeline) and `words`
  // holds the last complete sweep: a few DSP slices instead of two 32-bit
  // multipliers per layer. It is exact 2 sweeps (about 40 cycles) after the
  // configuration last changed; a load takes thousands of cycles before the
  // first image can start a trace.
  logic [3:0]  ws_l_q;                  // layer entering the sweep
  logic        ws_v1_q, ws_e1_q;        // stage 1: the layer counts; it is layer 15
  logic        ws_e2_q;                 // stage 2: the sweep ends with this term
  logic [31:0] ws_ch_q;                 // stage 1: c*h
  logic [15:0] ws_w_q;                  // stage 1: w
  logic [31:0] ws_term_q;               // stage 2: ceil(c*h*w / 32), 0 for a layer not counted
  logic [31:0] ws_sum_q;                // this sweep so far
  logic [31:0] words;
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      ws_l_q    <= '0;
      ws_v1_q   <= 1'b0;
      ws_e1_q   <= 1'b0;
      ws_e2_q   <= 1'b0;
      ws_term_q <= '0;
      ws_sum_q  <= '0;
      words     <= '0;
    end else begin
      ws_l_q    <= ws_l_q + 1'b1;
      ws_ch_q   <= 32'(lay_c_i[ws_l_q*16 +: 16]) * 32'(lay_h_i[ws_l_q*16 +: 16]);
      ws_w_q    <= lay_w_i[ws_l_q*16 +: 16];
      ws_v1_q   <= 32'(ws_l_q) + 1 < 32'(n_layers_i);
      ws_e1_q   <= ws_l_q == 4'd15;
      ws_term_q <= ws_v1_q ? (ws_ch_q * 32'(ws_w_q) + 32'd31) >> 5 : '0;
      ws_e2_q   <= ws_e1_q;
      if (ws_e2_q) begin
        words    <= (ws_sum_q + ws_term_q) * 32'(t_steps_i) + 32'(n_classes_i);
        ws_sum_q <= '0;
      end else begin
        ws_sum_q <= ws_sum_q + ws_term_q;
      end
    end
  end

  // output queue
  logic        q_in_valid, q_out_valid;
  logic [31:0] q_in_data;
  logic [2:0]  q_count;
  snn_fifo #(.WIDTH(32), .DEPTH(4)) u_q (
    .clk_i, .rst_ni, .clear_i(1'b0),
    .in_valid_i(q_in_valid), .in_ready_o(), .in_data_i(q_in_data),
    .out_valid_o(q_out_valid), .out_ready_i(wd_ready_i), .out_data_o(wd_data_o), .count_o(q_count)
  );
  assign wd_valid_o = q_out_valid;

  // front: one read per cycle while the queue can take the words in flight
  wire front = st_q == T_BITS && !bits_done_q && q_count <= 3'd1;
  always_comb begin
    logic [15:0] yy, xx;
    yy    = pool ? (y_q << 1) + 16'(k_q[1]) : y_q;
    xx    = pool ? (x_q << 1) + 16'(k_q[0]) : x_q;
    re    = front && stg < 3'd3;
    raddr = 32'(yy) * 32'(sw) + 32'(xx);
  end

  // back: the bit read last cycle
  logic        b_valid_q, b_fin_q, b_eol_q;   // a bit arrives; it finishes a neuron / a layer
  logic [2:0]  rd_stg_q;
  /* verilator lint_off UNUSEDSIGNAL */  // (the bit index within the widest word)
  logic [31:0] rd_bit_q;
  /* verilator lint_on UNUSEDSIGNAL */
  logic        got;
  always_comb
    case (rd_stg_q)
      3'd0:    got = q0[rd_bit_q[$clog2(W0)-1:0]];
      3'd1:    got = q1[rd_bit_q[$clog2(W1)-1:0]];
      3'd2:    got = q2[rd_bit_q[$clog2(W2)-1:0]];
      default: got = fc_q[rd_bit_q[$clog2(WF)-1:0]];
    endcase
  logic        acc_q;               // OR of the pool bit so far
  logic [4:0]  b_q;                 // bit within the word
  logic [31:0] word_q;
  logic        sums_q;              // the sums go into the queue
  always_comb begin
    logic [31:0] w;
    w = word_q;
    w[b_q] = acc_q | got;
    q_in_valid = (b_valid_q && b_fin_q && (b_eol_q || b_q == 5'd31)) || sums_q;
    q_in_data  = sums_q ? sums_i[s_q[5:0]*32 +: 32] : w;
  end

  assign busy_o  = st_q != T_IDLE;
  assign words_o = words;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      st_q        <= T_IDLE;
      cmd_valid_o <= 1'b0;
      b_valid_q   <= 1'b0;
      sums_q      <= 1'b0;
    end else begin
      if (cmd_valid_o && cmd_ready_i) cmd_valid_o <= 1'b0;

      // back
      b_valid_q <= front;
      if (b_valid_q) begin
        if (!b_fin_q) acc_q <= acc_q | got;
        else begin
          acc_q <= 1'b0;
          if (b_eol_q || b_q == 5'd31) begin
            word_q <= '0;
            b_q    <= '0;
          end else begin
            word_q[b_q] <= got | acc_q;
            b_q         <= b_q + 1'b1;
          end
        end
      end

      // front
      if (front) begin
        rd_stg_q <= stg;
        rd_bit_q <= 32'(c_q) * TM + 32'(t_q);
        b_fin_q  <= last_k;
        b_eol_q  <= last_k && last_in_layer;
        if (!last_k) k_q <= k_q + 1'b1;
        else begin
          k_q <= '0;
          // next neuron (CHW), then layer, then step
          if (last_in_layer) begin
            c_q <= '0; y_q <= '0; x_q <= '0;
            if (l_q + 5'd2 >= n_layers_i) begin
              l_q <= '0;
              t_q <= t_q + 1'b1;
              if (t_q + 1'b1 == t_steps_i) bits_done_q <= 1'b1;
            end else l_q <= l_q + 1'b1;
          end else if (x_q + 1'b1 == lw) begin
            x_q <= '0;
            if (y_q + 1'b1 == lh) begin
              y_q <= '0;
              c_q <= c_q + 1'b1;
            end else y_q <= y_q + 1'b1;
          end else x_q <= x_q + 1'b1;
        end
      end

      case (st_q)
        T_IDLE: if (start_i) begin
          cmd_valid_o <= 1'b1;
          cmd_addr_o  <= addr_i;
          cmd_words_o <= 24'(words);
          t_q <= '0; l_q <= '0; c_q <= '0; y_q <= '0; x_q <= '0; k_q <= '0;
          b_q <= '0; word_q <= '0; acc_q <= 1'b0; s_q <= '0;
          bits_done_q <= n_layers_i <= 5'd1;
          st_q <= T_BITS;
        end
        T_BITS: if (bits_done_q && !b_valid_q) st_q <= T_SUMS;
        T_SUMS: begin
          // one sum per cycle while the queue has room
          if (sums_q) s_q <= s_q + 1'b1;
          sums_q <= 1'b0;
          if (s_q + (sums_q ? 7'd1 : 7'd0) == n_classes_i) st_q <= T_END;
          else if (q_count <= 3'd1 && !sums_q) sums_q <= 1'b1;
        end
        T_END: if (!q_out_valid && !cmd_valid_o) st_q <= T_IDLE;
        default: st_q <= T_IDLE;
      endcase
    end
  end

endmodule
