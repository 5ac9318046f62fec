// snn_spike_map - the ping-pong spike map between two stages of the layer
// pipeline (docs/rtl-pipeline.md): one word per pixel, two halves (buffer 0
// and 1), one write port for the producer stage, one read port for the
// consumer stage. The producer and the consumer never use the same half at
// the same time (the ping-pong handshake is outside this module).
//
// Layout. BANKED = 1: nine banks by (y mod 3, x mod 3), word address
// (y/3) * ceil(MAX_W/3) + x/3, so that the 3x3 patch around any pixel reads
// each bank once. BANKED = 0: one bank, address y * w_i + x (the raster
// index for the map's runtime width). Every (half, bank) is one simple
// dual-port RAM (snn_ram: one write port, one registered read port) of
// WORD_W + 1 bits: the word and its image tag.
//
// Tags. Every word carries a 1-bit tag; a word whose stored tag differs from
// the tag of the access reads as zero (reads and the read-modify-write alike).
// No clearing pass: the producer alternates the tag per use of a half and
// writes every word of the h x w map in each use (all pixels, zero words
// included; a pooled word receives at least one write).
//
// Read port, cycle 0 = the cycle of rd_valid_i: in cycle 1 rd_valid_o and
//   BANKED = 1: rd_patch_o entry tap = ky*3 + kx ([tap*WORD_W +: WORD_W]) is
//               the word at (y+ky-1, x+kx-1), zero outside 0..h-1 x 0..w-1
//               or on a tag mismatch; rd_word_o is the centre entry.
//   BANKED = 0: rd_word_o is the word at (y, x) (zero outside the map or on a
//               tag mismatch); rd_patch_o holds it as its centre entry, the
//               other entries are zero.
//   One read per cycle. rd_patch_o / rd_word_o are combinational from the
//   RAM output registers (bank and half select, zeroing).
//
// Write port, cycle 0 = the cycle of wr_valid_i: a read-modify-write,
//   cycle 0   the old word is read (the half's read port, free: the
//             consumer is on the other half)
//   cycle 1   the old word is selected from its bank and registered
//   cycle 2   forwarding from the two writes before (they commit after the
//             read), tag check, new = wr_or_i ? old | data : data; the RAM
//             write commits at the end of cycle 2: reads issued from cycle
//             3 on see it
//   cycle 3   popcount of the bits set 0 -> 1 (new & ~old)
//   cycle 4   wr_newbits_valid_o, wr_newbits_o
//   One write per cycle, back-to-back writes to one word included. A
//   consumer may take over a half from cycle 3 after the producer's last
//   wr_valid_i.
// Writes must lie inside the map (y < h_i, x < w_i): the writer drops the
// rest. h_i and w_i are static while the map is in use.
`default_nettype none

module snn_spike_map #(
  parameter int unsigned WORD_W = 128,   // bits per pixel word (in_c * TM, image map in_c * 8)
  parameter int unsigned MAX_H  = 28,    // map height (maximum)
  parameter int unsigned MAX_W  = 28,    // map width (maximum)
  parameter int unsigned BANKED = 1,     // 1: 9 banks, 3x3 patch reads; 0: one bank, word reads
  parameter int unsigned INIT   = 0,     // 1: after reset, write tag 1 and zero data into every word
  // derived
  parameter int unsigned YW     = $clog2(MAX_H + 1),
  parameter int unsigned XW     = $clog2(MAX_W + 1),
  parameter int unsigned CNW    = $clog2(WORD_W + 1)
) (
  input  wire                   clk_i,
  input  wire                   rst_ni,
  // ---- configuration ----
  input  wire [YW-1:0]          h_i,              // map height
  input  wire [XW-1:0]          w_i,              // map width
  // ---- write port (producer) ----
  input  wire                   wr_valid_i,
  input  wire                   wr_half_i,
  input  wire [YW-1:0]          wr_y_i,
  input  wire [XW-1:0]          wr_x_i,
  input  wire [WORD_W-1:0]      wr_data_i,
  input  wire                   wr_or_i,          // 1: OR into the word (pooling); 0: overwrite
  input  wire                   wr_tag_i,         // tag of the image being written
  output logic                  wr_newbits_valid_o,
  output logic [CNW-1:0]        wr_newbits_o,     // bits set 0 -> 1 by the write
  input  wire                   init_i,           // INIT = 1: pulse, initialise again (a new map geometry)
  output logic                  init_done_o,      // INIT = 1: every word holds tag 1 (INIT = 0: always 1)
  // ---- read port (consumer) ----
  input  wire                   rd_valid_i,
  input  wire                   rd_half_i,
  input  wire                   rd_tag_i,         // tag of the image being read
  input  wire [YW-1:0]          rd_y_i,
  input  wire [XW-1:0]          rd_x_i,
  output logic                  rd_valid_o,       // one cycle after rd_valid_i
  output logic [9*WORD_W-1:0]   rd_patch_o,
  output logic [WORD_W-1:0]     rd_word_o
);

  localparam int unsigned NB    = (BANKED != 0) ? 9 : 1;                    // banks per half
  localparam int unsigned BH    = (BANKED != 0) ? (MAX_H + 2) / 3 : MAX_H;  // rows per bank
  localparam int unsigned BWD   = (BANKED != 0) ? (MAX_W + 2) / 3 : MAX_W;  // words per bank row
  localparam int unsigned DEPTH = BH * BWD;
  localparam int unsigned AW    = (DEPTH > 1) ? $clog2(DEPTH) : 1;
  localparam int unsigned BKW   = 4;                                        // bank index bits
  localparam int unsigned MW    = WORD_W + 1;                               // {tag, word}
  localparam int unsigned NP2   = 1 << $clog2(WORD_W);                      // popcount leaves

  // ---- addressing ------------------------------------------------------------
  // Division and remainder by 3 of a coordinate: small tables (YW / XW inputs).
  function automatic logic [YW-1:0] ydiv3(input logic [YW-1:0] v);
    ydiv3 = '0;
    for (int i = 0; i < (1 << YW); i++) if (v == YW'(i)) ydiv3 = YW'(i / 3);
  endfunction
  function automatic logic [1:0] ymod3(input logic [YW-1:0] v);
    ymod3 = '0;
    for (int i = 0; i < (1 << YW); i++) if (v == YW'(i)) ymod3 = 2'(i % 3);
  endfunction
  function automatic logic [XW-1:0] xdiv3(input logic [XW-1:0] v);
    xdiv3 = '0;
    for (int i = 0; i < (1 << XW); i++) if (v == XW'(i)) xdiv3 = XW'(i / 3);
  endfunction
  function automatic logic [1:0] xmod3(input logic [XW-1:0] v);
    xmod3 = '0;
    for (int i = 0; i < (1 << XW); i++) if (v == XW'(i)) xmod3 = 2'(i % 3);
  endfunction
  // word address of row quotient q, column quotient p inside a bank
  /* verilator lint_off UNUSEDSIGNAL */  // (p is wider than a narrow bank needs)
  function automatic logic [AW-1:0] bank_addr(input logic [YW-1:0] q, input logic [XW-1:0] p);
    bank_addr = AW'(AW'(q) * AW'(BWD) + AW'(p));
  endfunction
  /* verilator lint_on UNUSEDSIGNAL */

  // ---- RAMs: half h, bank b at index h*NB + b ------------------------------------
  logic [2*NB-1:0]      ram_re, ram_we;
  logic [2*NB*AW-1:0]   ram_raddr;
  logic [2*NB*MW-1:0]   ram_rdata;
  logic [AW-1:0]        ram_waddr;
  logic [MW-1:0]        ram_wdata;

  for (genvar i = 0; i < 2 * NB; i++) begin : g_ram
    snn_ram #(.WIDTH(MW), .DEPTH(DEPTH), .AW(AW)) u_ram (
      .clk_i,
      .we_i(ram_we[i]),
      .waddr_i(ram_waddr),
      .wdata_i(ram_wdata),
      .re_i(ram_re[i]),
      .raddr_i(ram_raddr[i*AW +: AW]),
      .rdata_o(ram_rdata[i*MW +: MW])
    );
  end

  // ---- read port: addresses (cycle 0) --------------------------------------------
  logic [NB*AW-1:0]   rd_addr;        // per bank
  logic [9*NB-1:0]    tap_sel_d;      // [tap*NB + b]: tap is inside the map and held by bank b
  always_comb begin
    rd_addr   = '0;
    tap_sel_d = '0;
    if (BANKED != 0) begin
      logic [YW-1:0] yq, rq;
      logic [XW-1:0] xq, cq;
      logic [1:0]    yr, xr;
      logic [2:0]    rowv, colv;               // per ky / kx: row / column inside the map
      logic [3*YW-1:0] brq;                    // per bank row: quotient of the row it serves
      logic [3*XW-1:0] bcq;
      logic [2:0]    brv, bcv;                 // per bank row / column: that row / column is inside
      yq = ydiv3(rd_y_i);  yr = ymod3(rd_y_i);
      xq = xdiv3(rd_x_i);  xr = xmod3(rd_x_i);
      rowv = {{1'b0, rd_y_i} + 1'b1 < {1'b0, h_i}, rd_y_i < h_i, rd_y_i != '0};
      colv = {{1'b0, rd_x_i} + 1'b1 < {1'b0, w_i}, rd_x_i < w_i, rd_x_i != '0};
      brq = '0;  bcq = '0;  brv = '0;  bcv = '0;
      rq  = '0;  cq  = '0;
      // row y + ky - 1 lies in bank row (y + ky - 1) mod 3; its quotient is
      // y/3, one less where it wraps below (r + ky == 0), one more above (== 4)
      for (int r = 0; r < 3; r++) begin
        if (yr == 2'(r))
          for (int ky = 0; ky < 3; ky++) begin
            rq = (r + ky == 0) ? yq - 1'b1 : (r + ky == 4) ? yq + 1'b1 : yq;
            brq[((r + ky + 2) % 3)*YW +: YW] = rq;
            brv[(r + ky + 2) % 3]            = rowv[ky];
          end
        if (xr == 2'(r))
          for (int kx = 0; kx < 3; kx++) begin
            cq = (r + kx == 0) ? xq - 1'b1 : (r + kx == 4) ? xq + 1'b1 : xq;
            bcq[((r + kx + 2) % 3)*XW +: XW] = cq;
            bcv[(r + kx + 2) % 3]            = colv[kx];
          end
      end
      for (int br = 0; br < 3; br++)
        for (int bc = 0; bc < 3; bc++)
          if (brv[br] && bcv[bc])
            rd_addr[(br*3 + bc)*AW +: AW] = bank_addr(brq[br*YW +: YW], bcq[bc*XW +: XW]);
      for (int ry = 0; ry < 3; ry++)
        for (int rx = 0; rx < 3; rx++)
          if (yr == 2'(ry) && xr == 2'(rx))
            for (int ky = 0; ky < 3; ky++)
              for (int kx = 0; kx < 3; kx++)
                tap_sel_d[(ky*3 + kx)*NB + ((ry + ky + 2) % 3)*3 + (rx + kx + 2) % 3] =
                  rowv[ky] && colv[kx];
    end else begin
      rd_addr[0 +: AW] = AW'(AW'(rd_y_i) * AW'(w_i) + AW'(rd_x_i));
      tap_sel_d[4*NB]  = rd_y_i < h_i && rd_x_i < w_i;
    end
  end

  // ---- write port: cycle 0 ----------------------------------------------------------
  logic [BKW-1:0] wr_bank;
  logic [AW-1:0]  wr_addr;
  always_comb begin
    if (BANKED != 0) begin
      wr_bank = BKW'(ymod3(wr_y_i)) * BKW'(3) + BKW'(xmod3(wr_x_i));
      wr_addr = bank_addr(ydiv3(wr_y_i), xdiv3(wr_x_i));
    end else begin
      wr_bank = '0;
      wr_addr = AW'(AW'(wr_y_i) * AW'(w_i) + AW'(wr_x_i));
    end
  end

  // the producer's half: its read port serves the read-modify-write
  always_comb begin
    for (int h = 0; h < 2; h++)
      for (int b = 0; b < NB; b++) begin
        logic prod, cons;
        prod = wr_valid_i && wr_half_i == 1'(h) && wr_bank == BKW'(b);
        cons = rd_valid_i && rd_half_i == 1'(h);
        ram_re[h*NB + b]              = prod || cons;
        ram_raddr[(h*NB + b)*AW +: AW] = prod ? wr_addr : rd_addr[b*AW +: AW];
      end
  end

  // ---- write pipeline ----------------------------------------------------------------
  // p1: the read was issued; p2: the old word is registered; p3: new bits
  logic                 p1_valid_q, p2_valid_q, p3_valid_q;
  logic                 p1_half_q,  p2_half_q;
  logic [BKW-1:0]       p1_bank_q,  p2_bank_q;
  logic [AW-1:0]        p1_addr_q,  p2_addr_q;
  logic [WORD_W-1:0]    p1_data_q,  p2_data_q;
  logic                 p1_or_q,    p2_or_q;
  logic                 p1_tag_q,   p2_tag_q;
  logic [MW-1:0]        p2_old_q;
  logic [WORD_W-1:0]    p3_new_q;          // bits set 0 -> 1
  // the last two committed writes (the read of p2 did not see them)
  logic                 f1_valid_q, f2_valid_q;
  logic [1+BKW+AW-1:0]  f1_loc_q,   f2_loc_q;     // {half, bank, addr}
  logic [MW-1:0]        f1_word_q,  f2_word_q;

  logic [1+BKW+AW-1:0]  p2_loc;
  logic [MW-1:0]        old_w;
  logic [WORD_W-1:0]    old_bits, new_bits;
  assign p2_loc = {p2_half_q, p2_bank_q, p2_addr_q};
  always_comb begin
    if (f1_valid_q && f1_loc_q == p2_loc)      old_w = f1_word_q;
    else if (f2_valid_q && f2_loc_q == p2_loc) old_w = f2_word_q;
    else                                       old_w = p2_old_q;
    old_bits = (old_w[WORD_W] == p2_tag_q) ? old_w[WORD_W-1:0] : '0;
    new_bits = p2_or_q ? (old_bits | p2_data_q) : p2_data_q;
  end

  // Initialisation (INIT = 1): the RAMs power up with any contents (random
  // in simulation), and a stored tag that happened to equal the first use's
  // tag would leak old bits into an OR write. After reset every word of every
  // (half, bank) is written with tag 1 and zero data, DEPTH cycles, all RAMs
  // at once; the first use of a half (tag 0) then reads zeros. The user waits
  // for init_done_o before the first write. init_i starts the pass again:
  // the kernel pulses it when it loads a model, because after a change of
  // map size a word outside the last use's map may carry the tag of the next
  // use and would leak its old bits into an OR write.
  logic          init_q;
  logic [AW-1:0] init_addr_q;
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      init_q      <= INIT != 0;
      init_addr_q <= '0;
    end else if (init_i && INIT != 0) begin
      init_q      <= 1'b1;
      init_addr_q <= '0;
    end else if (init_q) begin
      init_addr_q <= init_addr_q + 1'b1;
      if (init_addr_q == AW'(DEPTH - 1)) init_q <= 1'b0;
    end
  end
  assign init_done_o = !init_q;

  assign ram_waddr = init_q ? init_addr_q : p2_addr_q;
  assign ram_wdata = init_q ? {1'b1, {WORD_W{1'b0}}} : {p2_tag_q, new_bits};
  always_comb
    for (int i = 0; i < 2 * NB; i++)
      ram_we[i] = init_q || (p2_valid_q && {p2_half_q, p2_bank_q} == {1'(i / NB), BKW'(i % NB)});

  // the old word: the RAM output of the written (half, bank)
  logic [MW-1:0] p1_old;
  always_comb begin
    p1_old = '0;
    for (int i = 0; i < 2 * NB; i++)
      if ({p1_half_q, p1_bank_q} == {1'(i / NB), BKW'(i % NB)}) p1_old = ram_rdata[i*MW +: MW];
  end

  always_ff @(posedge clk_i) begin
    p1_half_q <= wr_half_i;
    p1_bank_q <= wr_bank;
    p1_addr_q <= wr_addr;
    p1_data_q <= wr_data_i;
    p1_or_q   <= wr_or_i;
    p1_tag_q  <= wr_tag_i;
    p2_half_q <= p1_half_q;
    p2_bank_q <= p1_bank_q;
    p2_addr_q <= p1_addr_q;
    p2_data_q <= p1_data_q;
    p2_or_q   <= p1_or_q;
    p2_tag_q  <= p1_tag_q;
    p2_old_q  <= p1_old;
    p3_new_q  <= new_bits & ~old_bits;
    f1_loc_q  <= p2_loc;
    f1_word_q <= ram_wdata;
    f2_loc_q  <= f1_loc_q;
    f2_word_q <= f1_word_q;
  end

  // popcount of the new bits: a balanced tree (heap order, node j at
  // [(j-1)*CNW]), registered only for a write (p3_valid_q; wr_newbits_o holds
  // otherwise), so that a simulator evaluates the tree only then.
  always_ff @(posedge clk_i) begin
    if (p3_valid_q) begin
      logic [(2*NP2-1)*CNW-1:0] pc;
      /* verilator lint_off WIDTHCONCAT */  // (the whole tree cleared: wide for wide words)
      pc = '0;
      /* verilator lint_on WIDTHCONCAT */
      for (int j = 0; j < NP2; j++)
        pc[(NP2 + j - 1)*CNW +: CNW] = (j < 32'(WORD_W)) ? CNW'(p3_new_q[j]) : '0;
      for (int j = NP2 - 1; j >= 1; j--)
        pc[(j-1)*CNW +: CNW] = pc[(2*j-1)*CNW +: CNW] + pc[(2*j)*CNW +: CNW];
      wr_newbits_o <= pc[0 +: CNW];
    end
  end

  // ---- read port: cycle 1 --------------------------------------------------------------
  logic               rd_half_q, rd_tag_q;
  logic [9*NB-1:0]    tap_sel_q;
  always_ff @(posedge clk_i) begin
    rd_half_q <= rd_half_i;
    rd_tag_q  <= rd_tag_i;
    tap_sel_q <= tap_sel_d;
  end

  logic [NB*WORD_W-1:0] bank_word;     // the read half's words, zero on a tag mismatch
  always_comb begin
    for (int b = 0; b < NB; b++) begin
      logic [MW-1:0] m;
      m = rd_half_q ? ram_rdata[(NB + b)*MW +: MW] : ram_rdata[b*MW +: MW];
      bank_word[b*WORD_W +: WORD_W] = (m[WORD_W] == rd_tag_q) ? m[WORD_W-1:0] : '0;
    end
    rd_patch_o = '0;
    for (int tap = 0; tap < 9; tap++)
      for (int b = 0; b < NB; b++)
        if (tap_sel_q[tap*NB + b]) rd_patch_o[tap*WORD_W +: WORD_W] = bank_word[b*WORD_W +: WORD_W];
    rd_word_o = rd_patch_o[4*WORD_W +: WORD_W];
  end

  // ---- valid bits ------------------------------------------------------------------------
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      p1_valid_q         <= 1'b0;
      p2_valid_q         <= 1'b0;
      p3_valid_q         <= 1'b0;
      f1_valid_q         <= 1'b0;
      f2_valid_q         <= 1'b0;
      wr_newbits_valid_o <= 1'b0;
      rd_valid_o         <= 1'b0;
    end else begin
      p1_valid_q         <= wr_valid_i;
      p2_valid_q         <= p1_valid_q;
      p3_valid_q         <= p2_valid_q;
      f1_valid_q         <= p2_valid_q;
      f2_valid_q         <= f1_valid_q;
      wr_newbits_valid_o <= p3_valid_q;
      rd_valid_o         <= rd_valid_i;
    end
  end

`ifdef SNN_ASSERT
  // The consumer never reads a half the producer is writing (its pending
  // read-modify-writes included).
  assert property (@(posedge clk_i) disable iff (!rst_ni)
                   (rd_valid_i && wr_valid_i) |-> rd_half_i != wr_half_i);
  assert property (@(posedge clk_i) disable iff (!rst_ni)
                   (rd_valid_i && p1_valid_q) |-> rd_half_i != p1_half_q);
  assert property (@(posedge clk_i) disable iff (!rst_ni)
                   (rd_valid_i && p2_valid_q) |-> rd_half_i != p2_half_q);
  // Writes lie inside the map.
  assert property (@(posedge clk_i) disable iff (!rst_ni)
                   wr_valid_i |-> (wr_y_i < h_i && wr_x_i < w_i));
`endif

endmodule
