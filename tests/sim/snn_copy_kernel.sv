// snn_copy_kernel - a small behavioural kernel with exactly the ports and the
// register map of snn_kernel, used only to test the Verilator harness
// (sim/harness.cpp) without the real pipeline.
//
// It copies n 64-bit words from the `model` buffer to the `results` buffer:
//
//   s_axi_control --> regs (ap_ctrl_hs, args) --start--> AR issuer --+
//                                                                     | m_axi_gmem
//   results <-- W streamer <-- 64-word FIFO <-- R sink <--------------+
//               AW issuer (independent of W), B counter -> ap_done
//
// n = n_images[23:0]. Bursts are 16 beats (less for the tail), several read
// and write bursts are outstanding at once. Bursts are deliberately NOT split
// at 4 KiB boundaries so that a test can provoke that protocol violation by
// choosing the addresses. Test modes in n_images[31:24]:
//   bit 24  hang: do the copy, then never raise ap_done
//   bit 25  bad wlast: raise wlast on the first beat of every burst
//
// The register map is the one of include/snn-regmap.h (Vitis ap_ctrl_hs):
// 0x00 ctrl (ap_start, ap_done COR, ap_idle, ap_ready COR, auto_restart),
// 0x04 GIE, 0x08 IER, 0x0C ISR (toggle on write), arguments from 0x10.
`default_nettype none

module snn_copy_kernel #(
  parameter int unsigned LANES = 8,                        // reported only
  parameter int unsigned C_S_AXI_CONTROL_ADDR_WIDTH = 7,   // register space 128 bytes
  parameter int unsigned C_M_AXI_GMEM_ADDR_WIDTH = 64,     // device address width
  parameter int unsigned C_M_AXI_GMEM_DATA_WIDTH = 64      // one word per beat
) (
  input  wire                                    ap_clk,
  input  wire                                    ap_rst_n,
  // The Vitis port name is also a C++ word; Verilator renames it internally.
  /* verilator lint_off SYMRSVDWORD */
  output logic                                   interrupt,
  /* verilator lint_on SYMRSVDWORD */

  input  wire                                    s_axi_control_awvalid,
  output logic                                   s_axi_control_awready,
  input  wire [C_S_AXI_CONTROL_ADDR_WIDTH-1:0]   s_axi_control_awaddr,
  input  wire                                    s_axi_control_wvalid,
  output logic                                   s_axi_control_wready,
  input  wire [31:0]                             s_axi_control_wdata,
  input  wire [3:0]                              s_axi_control_wstrb,
  output logic                                   s_axi_control_bvalid,
  input  wire                                    s_axi_control_bready,
  output logic [1:0]                             s_axi_control_bresp,
  input  wire                                    s_axi_control_arvalid,
  output logic                                   s_axi_control_arready,
  input  wire [C_S_AXI_CONTROL_ADDR_WIDTH-1:0]   s_axi_control_araddr,
  output logic                                   s_axi_control_rvalid,
  input  wire                                    s_axi_control_rready,
  output logic [31:0]                            s_axi_control_rdata,
  output logic [1:0]                             s_axi_control_rresp,

  output logic                                   m_axi_gmem_awvalid,
  input  wire                                    m_axi_gmem_awready,
  output logic [C_M_AXI_GMEM_ADDR_WIDTH-1:0]     m_axi_gmem_awaddr,
  output logic [7:0]                             m_axi_gmem_awlen,
  output logic                                   m_axi_gmem_wvalid,
  input  wire                                    m_axi_gmem_wready,
  output logic [C_M_AXI_GMEM_DATA_WIDTH-1:0]     m_axi_gmem_wdata,
  output logic [C_M_AXI_GMEM_DATA_WIDTH/8-1:0]   m_axi_gmem_wstrb,
  output logic                                   m_axi_gmem_wlast,
  input  wire                                    m_axi_gmem_bvalid,
  output logic                                   m_axi_gmem_bready,
  input  wire [1:0]                              m_axi_gmem_bresp,
  output logic                                   m_axi_gmem_arvalid,
  input  wire                                    m_axi_gmem_arready,
  output logic [C_M_AXI_GMEM_ADDR_WIDTH-1:0]     m_axi_gmem_araddr,
  output logic [7:0]                             m_axi_gmem_arlen,
  input  wire                                    m_axi_gmem_rvalid,
  output logic                                   m_axi_gmem_rready,
  input  wire [C_M_AXI_GMEM_DATA_WIDTH-1:0]      m_axi_gmem_rdata,
  input  wire                                    m_axi_gmem_rlast,
  input  wire [1:0]                              m_axi_gmem_rresp
);

  localparam int unsigned AW = C_S_AXI_CONTROL_ADDR_WIDTH;
  localparam int unsigned GA = C_M_AXI_GMEM_ADDR_WIDTH;
  localparam int unsigned GD = C_M_AXI_GMEM_DATA_WIDTH;
  localparam int unsigned BURST = 16;      // beats per burst
  localparam int unsigned FIFO_DEPTH = 64; // words buffered between R and W
  localparam int unsigned MAX_B = 8;       // write bursts awaiting B
  localparam int unsigned BEAT_LOG2 = $clog2(GD / 8); // bytes per beat, log2

  // ---- AXI-Lite slave: registers --------------------------------------------
  typedef enum logic [1:0] {W_IDLE, W_DATA, W_RESP} wstate_e;
  typedef enum logic [0:0] {R_IDLE, R_DATA} rstate_e;

  wstate_e wstate_q;
  rstate_e rstate_q;
  logic [AW-1:0] waddr_q;
  logic [31:0] rdata_q;

  logic ap_start_q, ap_done_q, ap_ready_q, auto_restart_q, gie_q;
  logic [1:0] ier_q, isr_q;
  logic [63:0] model_q, images_q, results_q, trace_q;
  logic [31:0] n_images_q;
  logic busy_q;
  logic finish;        // the copy engine completes this cycle
  logic accept;        // the copy engine takes ap_start this cycle

  assign accept = ap_start_q && !busy_q;

  wire w_hs = s_axi_control_wvalid && s_axi_control_wready;
  wire ar_hs = s_axi_control_arvalid && s_axi_control_arready;
  wire [AW-1:0] raddr = s_axi_control_araddr;

  assign s_axi_control_awready = (wstate_q == W_IDLE);
  assign s_axi_control_wready  = (wstate_q == W_DATA);
  assign s_axi_control_bvalid  = (wstate_q == W_RESP);
  assign s_axi_control_bresp   = 2'b00;
  assign s_axi_control_arready = (rstate_q == R_IDLE);
  assign s_axi_control_rvalid  = (rstate_q == R_DATA);
  assign s_axi_control_rdata   = rdata_q;
  assign s_axi_control_rresp   = 2'b00;
  assign interrupt = gie_q && (isr_q != 2'b00);

  // Full-word writes only (the harness and XRT write 32-bit registers).
  wire wr_full = (s_axi_control_wstrb == 4'hF);

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      wstate_q <= W_IDLE;
      rstate_q <= R_IDLE;
      waddr_q <= '0;
      rdata_q <= '0;
      ap_start_q <= 1'b0;
      ap_done_q <= 1'b0;
      ap_ready_q <= 1'b0;
      auto_restart_q <= 1'b0;
      gie_q <= 1'b0;
      ier_q <= 2'b00;
      isr_q <= 2'b00;
      model_q <= '0;
      images_q <= '0;
      results_q <= '0;
      trace_q <= '0;
      n_images_q <= '0;
    end else begin
      // write channel
      unique case (wstate_q)
        W_IDLE: if (s_axi_control_awvalid) begin
          waddr_q <= s_axi_control_awaddr;
          wstate_q <= W_DATA;
        end
        W_DATA: if (s_axi_control_wvalid) wstate_q <= W_RESP;
        W_RESP: if (s_axi_control_bready) wstate_q <= W_IDLE;
        default: wstate_q <= W_IDLE;
      endcase
      // read channel
      unique case (rstate_q)
        R_IDLE: if (s_axi_control_arvalid) rstate_q <= R_DATA;
        R_DATA: if (s_axi_control_rready) rstate_q <= R_IDLE;
        default: rstate_q <= R_IDLE;
      endcase

      // kernel status
      if (accept) begin
        ap_start_q <= auto_restart_q;
        ap_ready_q <= 1'b1;
        if (ier_q[1]) isr_q[1] <= 1'b1;
      end
      if (finish) begin
        ap_done_q <= 1'b1;
        if (ier_q[0]) isr_q[0] <= 1'b1;
      end

      if (ar_hs) begin
        unique case (raddr)
          7'h00: begin
            rdata_q <= {24'd0, auto_restart_q, 3'd0, ap_ready_q, !busy_q, ap_done_q, ap_start_q};
            // clear on read, unless set again in this very cycle
            if (!finish) ap_done_q <= 1'b0;
            if (!accept) ap_ready_q <= 1'b0;
          end
          7'h04: rdata_q <= {31'd0, gie_q};
          7'h08: rdata_q <= {30'd0, ier_q};
          7'h0C: rdata_q <= {30'd0, isr_q};
          7'h10: rdata_q <= model_q[31:0];
          7'h14: rdata_q <= model_q[63:32];
          7'h1C: rdata_q <= images_q[31:0];
          7'h20: rdata_q <= images_q[63:32];
          7'h28: rdata_q <= results_q[31:0];
          7'h2C: rdata_q <= results_q[63:32];
          7'h34: rdata_q <= trace_q[31:0];
          7'h38: rdata_q <= trace_q[63:32];
          7'h40: rdata_q <= n_images_q;
          default: rdata_q <= 32'd0;
        endcase
      end

      if (w_hs && wr_full) begin
        unique case (waddr_q)
          7'h00: begin
            if (s_axi_control_wdata[0]) ap_start_q <= 1'b1;
            auto_restart_q <= s_axi_control_wdata[7];
          end
          7'h04: gie_q <= s_axi_control_wdata[0];
          7'h08: ier_q <= s_axi_control_wdata[1:0];
          7'h0C: isr_q <= isr_q ^ s_axi_control_wdata[1:0];
          7'h10: model_q[31:0] <= s_axi_control_wdata;
          7'h14: model_q[63:32] <= s_axi_control_wdata;
          7'h1C: images_q[31:0] <= s_axi_control_wdata;
          7'h20: images_q[63:32] <= s_axi_control_wdata;
          7'h28: results_q[31:0] <= s_axi_control_wdata;
          7'h2C: results_q[63:32] <= s_axi_control_wdata;
          7'h34: trace_q[31:0] <= s_axi_control_wdata;
          7'h38: trace_q[63:32] <= s_axi_control_wdata;
          7'h40: n_images_q <= s_axi_control_wdata;
          default: ;
        endcase
      end
    end
  end

  // ---- copy engine --------------------------------------------------------------
  logic [GA-1:0] rd_addr_q, wr_addr_q;
  logic [23:0] rd_left_q, aw_left_q, w_left_q;
  logic [15:0] bursts_q, b_done_q, b_pending_q;
  logic hang_q, bad_wlast_q;

  logic arvalid_q, awvalid_q;
  logic [GA-1:0] araddr_q, awaddr_q;
  logic [7:0] arlen_q, awlen_q;

  logic [GD-1:0] fifo_q [FIFO_DEPTH];
  logic [5:0] fifo_rd_q, fifo_wr_q;
  logic [6:0] fifo_cnt_q;
  logic [7:0] reserved_q;     // beats requested or buffered, not yet written
  logic [4:0] beat_q;         // beat within the current write burst
  logic [4:0] wburst_q;       // length of the current write burst

  wire [23:0] n_words = n_images_q[23:0];
  wire [4:0] rd_blen = (rd_left_q >= 24'(BURST)) ? 5'(BURST) : rd_left_q[4:0];
  wire [4:0] aw_blen = (aw_left_q >= 24'(BURST)) ? 5'(BURST) : aw_left_q[4:0];
  wire [4:0] w_blen = (w_left_q >= 24'(BURST)) ? 5'(BURST) : w_left_q[4:0];

  wire m_ar_hs = m_axi_gmem_arvalid && m_axi_gmem_arready;
  wire m_r_hs = m_axi_gmem_rvalid && m_axi_gmem_rready;
  wire m_aw_hs = m_axi_gmem_awvalid && m_axi_gmem_awready;
  wire m_w_hs = m_axi_gmem_wvalid && m_axi_gmem_wready;
  wire m_b_hs = m_axi_gmem_bvalid && m_axi_gmem_bready;

  wire issue_ar = busy_q && !arvalid_q && rd_left_q != 24'd0 &&
                  (9'(reserved_q) + 9'(rd_blen) <= 9'(FIFO_DEPTH));
  wire issue_aw = busy_q && !awvalid_q && aw_left_q != 24'd0 && b_pending_q < 16'(MAX_B);
  wire in_burst = (beat_q != 5'd0);
  wire [4:0] cur_wlen = in_burst ? wburst_q : w_blen;

  assign m_axi_gmem_arvalid = arvalid_q;
  assign m_axi_gmem_araddr = araddr_q;
  assign m_axi_gmem_arlen = arlen_q;
  assign m_axi_gmem_rready = 1'b1;         // credit: the FIFO always has room
  assign m_axi_gmem_awvalid = awvalid_q;
  assign m_axi_gmem_awaddr = awaddr_q;
  assign m_axi_gmem_awlen = awlen_q;
  assign m_axi_gmem_wvalid = busy_q && fifo_cnt_q != 7'd0 && w_left_q != 24'd0;
  assign m_axi_gmem_wdata = fifo_q[fifo_rd_q];
  assign m_axi_gmem_wstrb = '1;
  assign m_axi_gmem_wlast = bad_wlast_q ? (beat_q == 5'd0) : (beat_q == cur_wlen - 5'd1);
  assign m_axi_gmem_bready = 1'b1;

  assign finish = busy_q && !hang_q && rd_left_q == 24'd0 && w_left_q == 24'd0 &&
                  aw_left_q == 24'd0 && b_done_q == bursts_q && !arvalid_q && !awvalid_q;

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      busy_q <= 1'b0;
      rd_addr_q <= '0;
      wr_addr_q <= '0;
      rd_left_q <= '0;
      aw_left_q <= '0;
      w_left_q <= '0;
      bursts_q <= '0;
      b_done_q <= '0;
      b_pending_q <= '0;
      hang_q <= 1'b0;
      bad_wlast_q <= 1'b0;
      arvalid_q <= 1'b0;
      awvalid_q <= 1'b0;
      araddr_q <= '0;
      awaddr_q <= '0;
      arlen_q <= '0;
      awlen_q <= '0;
      fifo_rd_q <= '0;
      fifo_wr_q <= '0;
      fifo_cnt_q <= '0;
      reserved_q <= '0;
      beat_q <= '0;
      wburst_q <= '0;
    end else if (accept) begin
      busy_q <= 1'b1;
      rd_addr_q <= model_q;
      wr_addr_q <= results_q;
      rd_left_q <= n_words;
      aw_left_q <= n_words;
      w_left_q <= n_words;
      bursts_q <= 16'((n_words + 24'(BURST - 1)) / 24'(BURST));
      b_done_q <= '0;
      b_pending_q <= '0;
      hang_q <= n_images_q[24];
      bad_wlast_q <= n_images_q[25];
      fifo_rd_q <= '0;
      fifo_wr_q <= '0;
      fifo_cnt_q <= '0;
      reserved_q <= '0;
      beat_q <= '0;
    end else if (busy_q) begin
      if (finish) busy_q <= 1'b0;
      // read requests
      if (m_ar_hs) arvalid_q <= 1'b0;
      if (issue_ar) begin
        arvalid_q <= 1'b1;
        araddr_q <= rd_addr_q;
        arlen_q <= {3'd0, rd_blen - 5'd1};
        rd_addr_q <= rd_addr_q + (GA'(rd_blen) << BEAT_LOG2);
        rd_left_q <= rd_left_q - 24'(rd_blen);
      end
      reserved_q <= reserved_q + (issue_ar ? 8'(rd_blen) : 8'd0) - (m_w_hs ? 8'd1 : 8'd0);
      // read data into the FIFO
      if (m_r_hs) begin
        fifo_q[fifo_wr_q] <= m_axi_gmem_rdata;
        fifo_wr_q <= fifo_wr_q + 6'd1;
      end
      fifo_cnt_q <= fifo_cnt_q + (m_r_hs ? 7'd1 : 7'd0) - (m_w_hs ? 7'd1 : 7'd0);
      // write requests
      if (m_aw_hs) awvalid_q <= 1'b0;
      if (issue_aw) begin
        awvalid_q <= 1'b1;
        awaddr_q <= wr_addr_q;
        awlen_q <= {3'd0, aw_blen - 5'd1};
        wr_addr_q <= wr_addr_q + (GA'(aw_blen) << BEAT_LOG2);
        aw_left_q <= aw_left_q - 24'(aw_blen);
      end
      b_pending_q <= b_pending_q + (issue_aw ? 16'd1 : 16'd0) - (m_b_hs ? 16'd1 : 16'd0);
      if (m_b_hs) b_done_q <= b_done_q + 16'd1;
      // write data out of the FIFO
      if (m_w_hs) begin
        fifo_rd_q <= fifo_rd_q + 6'd1;
        w_left_q <= w_left_q - 24'd1;
        if (!in_burst) wburst_q <= w_blen;
        beat_q <= (beat_q == cur_wlen - 5'd1) ? 5'd0 : beat_q + 5'd1;
      end
    end
  end

  // Unused inputs, named so that lint sees them consumed.
  wire unused_ok = &{1'b0, m_axi_gmem_rlast, m_axi_gmem_rresp, m_axi_gmem_bresp,
                     images_q, trace_q, 32'(LANES)};

endmodule

`default_nettype wire
