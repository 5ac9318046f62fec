// snn_expand - turns input events into accumulate operations, one per cycle:
// an operation is (weight word address, accumulator address, value, lane
// mask), i.e. one tap of one event for one group of LANES output channels.
//
//   conv: event (c, y, x) reaches outputs (y-ky+1, x-kx+1) for the valid taps
//         (ky, kx); weight row c*9 + ky*3 + kx, address w_base + row*grp + g,
//         accumulator address g*HW + p + (1-ky)*W + (1-kx)
//   fc:   event i = c*HW_in + p reaches every output; weight address
//         w_base + i*grp + g, accumulator address g
//
// A preparation pipeline (products and tap mask) runs ahead of the expander,
// so the last operation of one event is followed by the first of the next
// without a bubble; out-of-map taps never take a cycle. The end-of-job marker
// leaves as an operation with eoj set. synops_o counts the synapses reached
// (valid taps x out_c per event).
`default_nettype none

module snn_expand
  import snn_pkg::*;
#(
  parameter int unsigned LANES = 8,   // lanes
  parameter int unsigned WAW   = 17,  // weight address bits
  parameter int unsigned XAW   = 13   // accumulator address bits
) (
  input  wire               clk_i,
  input  wire               rst_ni,
  // job configuration, stable from start_i to the end of the job
  input  wire               start_i,
  input  wire               conv_i,
  input  wire [DimW-1:0]    h_i,          // map height (conv)
  input  wire [DimW-1:0]    w_i,          // map width (conv)
  input  wire [AddrW-1:0]   hw_in_i,      // input pixels per channel (fc)
  input  wire [AddrW-1:0]   hw_out_i,     // output pixels per channel
  input  wire [DimW-1:0]    grp_i,        // output channel groups
  input  wire [4:0]         last_lanes_i, // lanes of the last group
  input  wire [DimW-1:0]    out_c_i,      // output channels
  input  wire [AddrW-1:0]   w_base_i,
  input  wire [AddrW-1:0]   g9_i,
  // events
  input  wire               ev_valid_i,
  output logic              ev_ready_o,
  input  event_t            ev_i,
  // operations (the accumulator always accepts)
  output logic              op_valid_o,
  output logic              op_eoj_o,
  output logic [WAW-1:0]    op_w_o,
  output logic [XAW-1:0]    op_a_o,
  output logic [7:0]        op_val_o,
  output logic [LANES-1:0]  op_mask_o,
  output logic [31:0]       synops_o
);

  // ---- per-job tables ------------------------------------------------------------
  logic [AddrW-1:0] tap_w_q [9];    // tap * grp (conv), 0 (fc)
  logic [AddrW-1:0] tap_a_q [9];    // (1-ky)*W + (1-kx) (conv), 0 (fc); modulo 2^AddrW
  logic [LANES-1:0] last_mask_q;

  always_ff @(posedge clk_i) begin
    if (start_i) begin
      for (int t = 0; t < 9; t++) begin
        // tap t = ky*3 + kx: row offset (1-ky)*W, column offset 1-kx, modulo 2^AddrW
        logic [AddrW-1:0] dy, dx;
        dy = (t < 3) ? AddrW'(w_i) : (t < 6) ? '0 : AddrW'(0) - AddrW'(w_i);
        dx = (t % 3 == 0) ? AddrW'(1) : (t % 3 == 1) ? '0 : AddrW'(0) - AddrW'(1);
        tap_w_q[t] <= conv_i ? AddrW'(t) * AddrW'(grp_i) : '0;
        tap_a_q[t] <= conv_i ? dy + dx : '0;
      end
      for (int j = 0; j < LANES; j++) last_mask_q[j] <= (j < 32'(last_lanes_i));
    end
  end

  // ---- preparation pipeline (stages 1..4, one global advance) -------------------------
  logic adv;
  logic       s1_valid_q, s2_valid_q, s3_valid_q, s4_valid_q;   // stages 1..4
  event_t     s1_ev_q, s2_ev_q, s3_ev_q, s4_ev_q;
  logic [8:0] s1_tm_q, s2_tm_q, s3_tm_q, s4_tm_q;                 // valid taps
  logic [31:0] s1_a_q, s1_b_q;      // first product operands
  logic [63:0] s2_m_q;              // c*9grp (conv) or c*HW_in (fc)
  logic [31:0] s3_i_q;              // fc input index
  logic [31:0] s3_m_q;
  logic [63:0] s4_m_q;              // i*grp
  logic [31:0] s4_m1_q;
  logic [3:0]  s2_nt_q;             // valid taps of stage 2
  logic [AddrW-1:0] s3_syn_q, s4_syn_q;  // synapses of the event

  // tap mask of an incoming event
  logic [8:0] tm_in;
  logic [2:0] vy, vx;
  always_comb begin
    vy = {ev_i.y != '0, 1'b1, 32'(ev_i.y) + 1 < 32'(h_i)};   // ky = 2, 1, 0
    vx = {ev_i.x != '0, 1'b1, 32'(ev_i.x) + 1 < 32'(w_i)};
    for (int t = 0; t < 9; t++) tm_in[t] = vy[t / 3] && vx[t % 3];
    if (!conv_i || ev_i.eoj) tm_in = 9'b0_0000_0001;
  end

  function automatic logic [3:0] popc9(input logic [8:0] v);
    popc9 = '0;
    for (int t = 0; t < 9; t++) popc9 = popc9 + 4'(v[t]);
  endfunction

  // expander state
  logic             e_valid_q;
  logic             e_eoj_q;
  logic [AddrW-1:0] e_row_q;        // weight address of tap 0, group 0
  logic [AddrW-1:0] e_p_q;          // accumulator address of tap offset 0, group 0
  logic [7:0]       e_val_q;
  logic [8:0]       e_tm_q;         // taps still to do, including the current one
  logic [DimW-1:0]  e_g_q;          // current group
  logic [AddrW-1:0] e_ghw_q;        // g * HW_out
  logic [3:0]       e_tap;
  logic             e_g_last, e_tap_last, e_take;

  always_comb begin
    e_tap = 4'd0;
    for (int t = 8; t >= 0; t--) if (e_tm_q[t]) e_tap = 4'(t);
  end
  assign e_g_last   = (e_g_q == grp_i - 1'b1) || e_eoj_q;
  assign e_tap_last = ((e_tm_q & ~(9'd1 << e_tap)) == 9'd0);
  assign e_take     = !e_valid_q || (e_g_last && e_tap_last);
  assign adv        = !s4_valid_q || e_take;
  assign ev_ready_o = adv;

  always_ff @(posedge clk_i) begin
    if (!rst_ni || start_i) begin
      s1_valid_q <= 1'b0;
      s2_valid_q <= 1'b0;
      s3_valid_q <= 1'b0;
      s4_valid_q <= 1'b0;
    end else if (adv) begin
      // stage 1: the event, tap mask, product operands
      s1_valid_q <= ev_valid_i;
      s1_ev_q    <= ev_i;
      s1_tm_q    <= tm_in;
      s1_a_q       <= 32'(ev_i.c);
      s1_b_q       <= conv_i ? 32'(g9_i) : 32'(hw_in_i);
      // stage 2: c*9grp or c*HW_in
      s2_valid_q <= s1_valid_q;
      s2_ev_q    <= s1_ev_q;
      s2_tm_q    <= s1_tm_q;
      s2_m_q       <= 64'(s1_a_q) * 64'(s1_b_q);
      s2_nt_q      <= popc9(s1_tm_q);
      // stage 3: fc input index, synapses of the event
      s3_valid_q <= s2_valid_q;
      s3_ev_q    <= s2_ev_q;
      s3_tm_q    <= s2_tm_q;
      s3_i_q       <= s2_m_q[31:0] + 32'(s2_ev_q.p);
      s3_m_q       <= s2_m_q[31:0];
      s3_syn_q   <= s2_ev_q.eoj ? '0 : AddrW'(s2_nt_q) * AddrW'(out_c_i);
      // stage 4: i*grp
      s4_valid_q <= s3_valid_q;
      s4_ev_q    <= s3_ev_q;
      s4_tm_q    <= s3_tm_q;
      s4_m_q       <= 64'(s3_i_q) * 64'(grp_i);
      s4_m1_q      <= s3_m_q;
      s4_syn_q   <= s3_syn_q;
    end
  end

  // ---- expander -------------------------------------------------------------------------
  always_ff @(posedge clk_i) begin
    if (!rst_ni || start_i) begin
      e_valid_q <= 1'b0;
      synops_o  <= '0;
    end else begin
      if (e_valid_q) begin
        if (e_g_last) begin
          e_g_q   <= '0;
          e_ghw_q <= '0;
          e_tm_q  <= e_tm_q & ~(9'd1 << e_tap);
        end else begin
          e_g_q   <= e_g_q + 1'b1;
          e_ghw_q <= e_ghw_q + hw_out_i;
        end
      end
      if (e_take) begin
        e_valid_q <= s4_valid_q;
        e_eoj_q   <= s4_ev_q.eoj;
        e_row_q   <= w_base_i + AddrW'(conv_i ? s4_m1_q : s4_m_q[31:0]);
        e_p_q     <= conv_i ? s4_ev_q.p : '0;
        e_val_q   <= s4_ev_q.val;
        e_tm_q    <= s4_tm_q;
        e_g_q     <= '0;
        e_ghw_q   <= '0;
        if (s4_valid_q) synops_o <= synops_o + 32'(s4_syn_q);
      end
    end
  end

  // ---- operation register ------------------------------------------------------------------
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      op_valid_o <= 1'b0;
      op_eoj_o   <= 1'b0;
    end else begin
      op_valid_o <= e_valid_q;
      op_eoj_o   <= e_valid_q && e_eoj_q;
      op_w_o     <= WAW'(e_row_q + tap_w_q[e_tap] + AddrW'(e_g_q));
      op_a_o     <= XAW'(e_p_q + tap_a_q[e_tap] + e_ghw_q);
      op_val_o   <= e_val_q;
      op_mask_o  <= e_eoj_q ? '0 : ((e_g_q == grp_i - 1'b1) ? last_mask_q : '1);
    end
  end

  logic unused_ev;
  assign unused_ev = ^{s4_ev_q.c, s4_ev_q.y, s4_ev_q.x, s3_m_q[0], s4_m_q[63:32], s2_m_q[63:32]};

endmodule
