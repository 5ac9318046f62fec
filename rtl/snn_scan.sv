// snn_scan - the event source of one accumulate job. It walks either
//
//  * the pixel buffer (layer 0): one pixel per cycle, every nonzero pixel
//    becomes an event carrying its value, or
//  * a spike map (any other layer): one word per read (32 pixels of one row
//    for each of LANES channels), every set bit becomes an event of value 1,
//    lowest lane then lowest bit first, one per cycle,
//
// and ends the job with an end-of-job marker. Events carry (c, y, x) and
// p = y*W + x of the input neuron. The map read port is shared with the post
// side, which has priority: a read is only taken when granted.
`default_nettype none

module snn_scan
  import snn_pkg::*;
#(
  parameter int unsigned LANES = 8,    // lanes (channels per map word)
  parameter int unsigned PAW   = 9,    // pixel-buffer word address bits of one slot
  parameter int unsigned MAW   = 11    // spike-map word address bits
) (
  input  wire                    clk_i,
  input  wire                    rst_ni,
  // job
  input  wire                    start_i,      // pulse
  input  wire                    pix_i,        // 1: pixel buffer, 0: spike map
  input  wire                    slot_i,       // pixel slot
  input  wire [AddrW-1:0]        n_pix_i,      // pixels (pixel mode)
  input  wire                    buf_i,        // spike-map buffer (map mode)
  input  wire [AddrW-1:0]        base_i,       // first map word of the step
  input  wire [DimW-1:0]         grp_i,        // channel groups of the source map
  input  wire [4:0]              last_lanes_i, // lanes used by its last group
  input  wire [DimW-1:0]         h_i,          // source map (or image) height
  input  wire [DimW-1:0]         w_i,          // width
  input  wire [7:0]              wpr_i,        // map words per row
  output logic                   busy_o,
  // pixel buffer read port
  output logic                   pb_re_o,
  output logic [PAW:0]           pb_addr_o,
  input  wire [63:0]             pb_data_i,
  // spike-map read port (shared)
  output logic                   mr_req_o,
  output logic                   mr_buf_o,
  output logic [MAW-1:0]         mr_addr_o,
  input  wire                    mr_gnt_i,
  input  wire [LANES*32-1:0]     mr_data_i,
  // events
  output logic                   ev_valid_o,
  input  wire                    ev_ready_i,
  output event_t                 ev_o
);

  localparam int unsigned LW = (LANES > 1) ? $clog2(LANES) : 1;
  localparam int unsigned LS = $clog2(LANES);

  typedef enum logic [1:0] { SIdle, SPix, SMap, SEnd } state_e;
  state_e state_q, state_d;

  // ---- job registers ---------------------------------------------------------------
  logic             slot_q, buf_q;
  logic [AddrW-1:0] n_pix_q;
  logic [DimW-1:0]  grp_q, h_q, w_q;
  logic [4:0]       last_lanes_q;
  logic [7:0]       wpr_q;

  // ---- pixel walk --------------------------------------------------------------------
  // Stage A: next pixel (index and coordinates); stage B: pixel read last cycle.
  logic [AddrW-1:0] a_n_q, a_p_q;
  logic [DimW-1:0]  a_c_q, a_y_q, a_x_q;
  logic             b_valid_q;
  logic [AddrW-1:0] b_p_q;
  logic [DimW-1:0]  b_c_q, b_y_q, b_x_q;
  logic [2:0]       b_byte_q;
  logic [7:0]       b_val;
  logic             pix_adv;        // A moves into B
  logic             a_more;         // A holds a pixel

  assign a_more  = (state_q == SPix) && (a_n_q != n_pix_q);
  assign b_val   = pb_data_i[{b_byte_q, 3'b000} +: 8];
  assign pix_adv = !b_valid_q || (b_val == 8'd0) || ev_ready_i;
  assign pb_re_o   = pix_adv && a_more;
  assign pb_addr_o = {slot_q, a_n_q[PAW+2:3]};

  // ---- map walk -------------------------------------------------------------------------
  logic [MAW-1:0]   m_addr_q;           // next word to read
  logic [DimW-1:0]  m_g_q, m_y_q;       // its group and row
  logic [7:0]       m_k_q;              // its word in the row
  logic [AddrW-1:0] m_rowp_q;           // y * W of its row
  logic             m_more_q;           // words left to read
  logic             m_fly_q;            // a granted read returns this cycle
  logic [DimW-1:0]  f_g_q, f_y_q;       // coordinates of the word in flight
  logic [7:0]       f_k_q;
  logic [AddrW-1:0] f_rowp_q;
  logic             w1_valid_q;         // a nonzero word waits for the emitter
  logic [LANES*32-1:0] w1_bits_q;
  logic [DimW-1:0]  w1_g_q, w1_y_q;
  logic [7:0]       w1_k_q;
  logic [AddrW-1:0] w1_rowp_q;
  logic             e_valid_q;          // the emitter holds a word with set bits
  logic [LANES*32-1:0] e_bits_q;
  logic [DimW-1:0]  e_g_q, e_y_q;
  logic [7:0]       e_k_q;
  logic [AddrW-1:0] e_rowp_q;

  // masks of the word in flight
  logic [LANES*32-1:0] f_masked;
  logic [31:0]         f_bitmask;
  logic [DimW-1:0]     f_rem;            // valid bits of the row's last word
  always_comb begin
    f_rem     = w_q - DimW'({f_k_q, 5'b00000});
    f_bitmask = (f_k_q == wpr_q - 1'b1 && f_rem < DimW'(32)) ? ((32'd1 << f_rem) - 1'b1) : 32'hFFFF_FFFF;
    for (int j = 0; j < LANES; j++) begin
      if (f_g_q == grp_q - 1'b1 && j >= 32'(last_lanes_q))
        f_masked[j*32 +: 32] = 32'd0;
      else
        f_masked[j*32 +: 32] = mr_data_i[j*32 +: 32] & f_bitmask;
    end
  end

  // emitter: first lane with a set bit, first set bit in it
  logic [LANES-1:0] lane_nz;
  logic [LW-1:0]    e_lane;
  logic [31:0]      e_word;
  logic [4:0]       e_bit;
  logic [31:0]      e_word_left;       // e_word without the emitted bit
  logic             e_last;            // the emitted bit is the word's last
  always_comb begin
    for (int j = 0; j < LANES; j++) lane_nz[j] = (e_bits_q[j*32 +: 32] != 32'd0);
    e_lane = '0;
    for (int j = LANES - 1; j >= 0; j--) if (lane_nz[j]) e_lane = LW'(j);
    e_word = e_bits_q[32'(e_lane) * 32 +: 32];
    e_bit  = '0;
    for (int b = 31; b >= 0; b--) if (e_word[b]) e_bit = 5'(b);
    e_word_left = e_word & ~(32'd1 << e_bit);
    e_last = (e_word_left == 32'd0);
    for (int j = 0; j < LANES; j++)
      if (32'(e_lane) != j && lane_nz[j]) e_last = 1'b0;
  end

  logic e_emit;      // the emitter's event is taken
  logic e_free;      // the emitter can take a new word this cycle
  assign e_emit  = (state_q == SMap) && e_valid_q && ev_ready_i;
  assign e_free  = !e_valid_q || (e_emit && e_last);

  assign mr_req_o  = (state_q == SMap) && m_more_q && !m_fly_q && !w1_valid_q;
  assign mr_buf_o  = buf_q;
  assign mr_addr_o = m_addr_q;

  // ---- output ---------------------------------------------------------------------------
  always_comb begin
    ev_valid_o = 1'b0;
    ev_o       = '0;
    unique case (state_q)
      SPix: begin
        ev_valid_o = b_valid_q && (b_val != 8'd0);
        ev_o.c   = b_c_q;
        ev_o.y   = b_y_q;
        ev_o.x   = b_x_q;
        ev_o.p   = b_p_q;
        ev_o.val = b_val;
      end
      SMap: begin
        ev_valid_o = e_valid_q;
        ev_o.c   = DimW'(e_g_q << LS) | DimW'(e_lane);
        ev_o.y   = e_y_q;
        ev_o.x   = DimW'({e_k_q, 5'b00000}) | DimW'(e_bit);
        ev_o.p   = e_rowp_q + AddrW'({e_k_q, 5'b00000}) + AddrW'(e_bit);
        ev_o.val = 8'd1;
      end
      SEnd: begin
        ev_valid_o = 1'b1;
        ev_o.eoj   = 1'b1;
      end
      default: ;
    endcase
  end

  assign busy_o = (state_q != SIdle);

  // The map base is an on-chip address: it fits MAW bits after the fit check.
  logic unused_base;
  assign unused_base = ^base_i[AddrW-1:MAW];

  // ---- FSM ---------------------------------------------------------------------------------
  logic pix_done, map_done;
  assign pix_done = !a_more && (!b_valid_q || pix_adv);
  assign map_done = !m_more_q && !m_fly_q && !w1_valid_q && (!e_valid_q || (e_emit && e_last));

  always_comb begin
    state_d = state_q;
    unique case (state_q)
      SIdle: if (start_i) state_d = pix_i ? SPix : SMap;
      SPix:  if (pix_done) state_d = SEnd;
      SMap:  if (map_done) state_d = SEnd;
      SEnd:  if (ev_ready_i) state_d = SIdle;
      default: state_d = SIdle;
    endcase
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) state_q <= SIdle;
    else         state_q <= state_d;
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      b_valid_q  <= 1'b0;
      m_more_q   <= 1'b0;
      m_fly_q    <= 1'b0;
      w1_valid_q <= 1'b0;
      e_valid_q  <= 1'b0;
    end else begin
      if (state_q == SIdle && start_i) begin
        slot_q       <= slot_i;
        buf_q        <= buf_i;
        n_pix_q      <= n_pix_i;
        grp_q        <= grp_i;
        h_q          <= h_i;
        w_q          <= w_i;
        wpr_q        <= wpr_i;
        last_lanes_q <= last_lanes_i;
        a_n_q        <= '0;
        a_p_q        <= '0;
        a_c_q        <= '0;
        a_y_q        <= '0;
        a_x_q        <= '0;
        b_valid_q    <= 1'b0;
        m_addr_q     <= MAW'(base_i);
        m_g_q        <= '0;
        m_y_q        <= '0;
        m_k_q        <= '0;
        m_rowp_q     <= '0;
        m_more_q     <= !pix_i;
        m_fly_q      <= 1'b0;
        w1_valid_q   <= 1'b0;
        e_valid_q    <= 1'b0;
      end
      // pixel walk
      if (state_q == SPix && pix_adv) begin
        b_valid_q <= a_more;
        if (a_more) begin
          b_c_q    <= a_c_q;
          b_y_q    <= a_y_q;
          b_x_q    <= a_x_q;
          b_p_q    <= a_p_q;
          b_byte_q <= a_n_q[2:0];
          a_n_q    <= a_n_q + 1'b1;
          if (a_x_q == w_q - 1'b1) begin
            a_x_q <= '0;
            if (a_y_q == h_q - 1'b1) begin
              a_y_q <= '0;
              a_p_q <= '0;
              a_c_q <= a_c_q + 1'b1;
            end else begin
              a_y_q <= a_y_q + 1'b1;
              a_p_q <= a_p_q + 1'b1;
            end
          end else begin
            a_x_q <= a_x_q + 1'b1;
            a_p_q <= a_p_q + 1'b1;
          end
        end
      end
      // map walk: read
      m_fly_q <= mr_req_o && mr_gnt_i;
      if (mr_req_o && mr_gnt_i) begin
        f_g_q    <= m_g_q;
        f_y_q    <= m_y_q;
        f_k_q    <= m_k_q;
        f_rowp_q <= m_rowp_q;
        m_addr_q <= m_addr_q + 1'b1;
        if (m_k_q == wpr_q - 1'b1) begin
          m_k_q <= '0;
          if (m_y_q == h_q - 1'b1) begin
            m_y_q    <= '0;
            m_rowp_q <= '0;
            if (m_g_q == grp_q - 1'b1) m_more_q <= 1'b0;
            m_g_q <= m_g_q + 1'b1;
          end else begin
            m_y_q    <= m_y_q + 1'b1;
            m_rowp_q <= m_rowp_q + AddrW'(w_q);
          end
        end else begin
          m_k_q <= m_k_q + 1'b1;
        end
      end
      // map walk: word arrives (m_fly_q) -> w1 (empty words are dropped)
      if (w1_valid_q && e_free) w1_valid_q <= 1'b0;
      if (m_fly_q && f_masked != '0) begin
        w1_valid_q <= 1'b1;
        w1_bits_q  <= f_masked;
        w1_g_q     <= f_g_q;
        w1_y_q     <= f_y_q;
        w1_k_q     <= f_k_q;
        w1_rowp_q  <= f_rowp_q;
      end
      // emitter
      if (e_emit) e_bits_q[32'(e_lane) * 32 +: 32] <= e_word_left;
      if (e_free) begin
        e_valid_q <= w1_valid_q;
        if (w1_valid_q) begin
          e_bits_q <= w1_bits_q;
          e_g_q    <= w1_g_q;
          e_y_q    <= w1_y_q;
          e_k_q    <= w1_k_q;
          e_rowp_q <= w1_rowp_q;
        end
      end
    end
  end

endmodule
