// snn_ctrl - AXI4-Lite slave with the Vitis ap_ctrl_hs register map of
// include/snn-regmap.h (documented with its timing in docs/register-map.md).
//
//   0x00 ctrl   bit0 ap_start (R/W, cleared when the run ends unless
//               auto_restart), bit1 ap_done (R, clear on read), bit2 ap_idle
//               (R), bit3 ap_ready (R, clear on read), bit7 auto_restart (R/W),
//               bit9 interrupt (R)
//   0x04 GIE    bit0 global interrupt enable
//   0x08 IER    bit0 ap_done, bit1 ap_ready interrupt enable
//   0x0C ISR    bit0 ap_done, bit1 ap_ready status, toggled by writing 1
//   0x10/0x14 model, 0x1C/0x20 images, 0x28/0x2C results, 0x34/0x38 trace
//   0x40 n_images
//   0x48 flags   bit0 reload: load the model even if it is the one loaded last
//
// The write address and data channels are accepted independently (either
// may come first); one response is outstanding at a time. start_o pulses for
// one cycle when ap_start is set and the kernel is idle; the argument outputs
// are stable from then until the next register write.
`default_nettype none

module snn_ctrl #(
  parameter int unsigned ADDR_W = 7  // s_axi_control address bits
) (
  input  wire              clk_i,
  input  wire              rst_ni,
  // AXI4-Lite slave
  input  wire              awvalid_i,
  output logic             awready_o,
  input  wire [ADDR_W-1:0] awaddr_i,
  input  wire              wvalid_i,
  output logic             wready_o,
  input  wire [31:0]       wdata_i,
  input  wire [3:0]        wstrb_i,
  output logic             bvalid_o,
  input  wire              bready_i,
  output logic [1:0]       bresp_o,
  input  wire              arvalid_i,
  output logic             arready_o,
  input  wire [ADDR_W-1:0] araddr_i,
  output logic             rvalid_o,
  input  wire              rready_i,
  output logic [31:0]      rdata_o,
  output logic [1:0]       rresp_o,
  // kernel side
  output logic             start_o,     // one-cycle pulse: a run begins
  input  wire              done_i,      // one-cycle pulse: the run ended (ap_done and ap_ready)
  output logic [63:0]      model_o,
  output logic [63:0]      images_o,
  output logic [63:0]      results_o,
  output logic [63:0]      trace_o,
  output logic [31:0]      n_images_o,
  output logic [31:0]      flags_o,     // 0x48 (SNN_FLAG_*); the layer-pipeline kernel reads bit 0
  output logic             interrupt_o
);

  localparam logic [ADDR_W-1:0] AddrCtrl     = ADDR_W'(8'h00);
  localparam logic [ADDR_W-1:0] AddrGie      = ADDR_W'(8'h04);
  localparam logic [ADDR_W-1:0] AddrIer      = ADDR_W'(8'h08);
  localparam logic [ADDR_W-1:0] AddrIsr      = ADDR_W'(8'h0C);
  localparam logic [ADDR_W-1:0] AddrModelLo  = ADDR_W'(8'h10);
  localparam logic [ADDR_W-1:0] AddrModelHi  = ADDR_W'(8'h14);
  localparam logic [ADDR_W-1:0] AddrImagesLo = ADDR_W'(8'h1C);
  localparam logic [ADDR_W-1:0] AddrImagesHi = ADDR_W'(8'h20);
  localparam logic [ADDR_W-1:0] AddrResLo    = ADDR_W'(8'h28);
  localparam logic [ADDR_W-1:0] AddrResHi    = ADDR_W'(8'h2C);
  localparam logic [ADDR_W-1:0] AddrTraceLo  = ADDR_W'(8'h34);
  localparam logic [ADDR_W-1:0] AddrTraceHi  = ADDR_W'(8'h38);
  localparam logic [ADDR_W-1:0] AddrNImages  = ADDR_W'(8'h40);
  localparam logic [ADDR_W-1:0] AddrFlags    = ADDR_W'(8'h48);

  // Registers are 32-bit aligned: the byte-offset bits are ignored.
  logic unused_addr_bits;
  assign unused_addr_bits = ^{awaddr_i[1:0], araddr_i[1:0]};

  // ---- write channel ---------------------------------------------------------
  logic              aw_have_q, w_have_q;
  logic [ADDR_W-1:0] waddr_q;
  logic [31:0]       wdata_q;
  logic [3:0]        wstrb_q;
  logic              wr_do;     // perform the captured write this cycle
  logic [31:0]       wmask;

  assign awready_o = !aw_have_q && !bvalid_o;
  assign wready_o  = !w_have_q && !bvalid_o;
  assign bresp_o   = 2'b00;
  assign wr_do     = aw_have_q && w_have_q && !bvalid_o;
  assign wmask     = {{8{wstrb_q[3]}}, {8{wstrb_q[2]}}, {8{wstrb_q[1]}}, {8{wstrb_q[0]}}};

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      aw_have_q <= 1'b0;
      w_have_q  <= 1'b0;
      bvalid_o  <= 1'b0;
      waddr_q   <= '0;
      wdata_q   <= '0;
      wstrb_q   <= '0;
    end else begin
      if (awvalid_i && awready_o) begin
        aw_have_q <= 1'b1;
        waddr_q   <= {awaddr_i[ADDR_W-1:2], 2'b00};
      end
      if (wvalid_i && wready_o) begin
        w_have_q <= 1'b1;
        wdata_q  <= wdata_i;
        wstrb_q  <= wstrb_i;
      end
      if (wr_do) begin
        aw_have_q <= 1'b0;
        w_have_q  <= 1'b0;
        bvalid_o  <= 1'b1;
      end else if (bvalid_o && bready_i) begin
        bvalid_o <= 1'b0;
      end
    end
  end

  // ---- registers ---------------------------------------------------------------
  logic        ap_start_q, ap_done_q, ap_ready_q, idle_q, auto_restart_q;
  logic        gie_q;
  logic [1:0]  ier_q, isr_q;
  logic        rd_ctrl;   // the control register is read this cycle (clear on read)
  logic        wr_ctrl, wr_isr;

  assign wr_ctrl     = wr_do && (waddr_q == AddrCtrl);
  assign wr_isr      = wr_do && (waddr_q == AddrIsr);
  assign start_o     = ap_start_q && idle_q;
  assign interrupt_o = gie_q && (isr_q != 2'b00);

  function automatic logic [31:0] merge(input logic [31:0] old, input logic [31:0] d,
                                        input logic [31:0] m);
    merge = (old & ~m) | (d & m);
  endfunction

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      ap_start_q     <= 1'b0;
      ap_done_q      <= 1'b0;
      ap_ready_q     <= 1'b0;
      idle_q         <= 1'b1;
      auto_restart_q <= 1'b0;
      gie_q          <= 1'b0;
      ier_q          <= 2'b00;
      isr_q          <= 2'b00;
      model_o        <= '0;
      images_o       <= '0;
      results_o      <= '0;
      trace_o        <= '0;
      n_images_o     <= '0;
      flags_o        <= '0;
    end else begin
      // ap_start: set by the host, cleared when the run ends (ap_ready)
      if (wr_ctrl && wstrb_q[0] && wdata_q[0]) ap_start_q <= 1'b1;
      else if (done_i && !auto_restart_q)      ap_start_q <= 1'b0;
      if (wr_ctrl && wstrb_q[0]) auto_restart_q <= wdata_q[7];
      // idle from reset and after a run, busy from start_o
      if (start_o)     idle_q <= 1'b0;
      else if (done_i) idle_q <= 1'b1;
      // ap_done / ap_ready: set by the run's end, cleared when read
      if (done_i)       ap_done_q <= 1'b1;
      else if (rd_ctrl) ap_done_q <= 1'b0;
      if (done_i)       ap_ready_q <= 1'b1;
      else if (rd_ctrl) ap_ready_q <= 1'b0;
      // interrupts
      if (wr_do && waddr_q == AddrGie && wstrb_q[0]) gie_q <= wdata_q[0];
      if (wr_do && waddr_q == AddrIer && wstrb_q[0]) ier_q <= wdata_q[1:0];
      for (int i = 0; i < 2; i++) begin
        if (ier_q[i] && done_i)           isr_q[i] <= 1'b1;
        else if (wr_isr && wstrb_q[0])    isr_q[i] <= isr_q[i] ^ wdata_q[i];
      end
      // arguments
      if (wr_do) begin
        unique case (waddr_q)
          AddrModelLo:  model_o[31:0]    <= merge(model_o[31:0], wdata_q, wmask);
          AddrModelHi:  model_o[63:32]   <= merge(model_o[63:32], wdata_q, wmask);
          AddrImagesLo: images_o[31:0]   <= merge(images_o[31:0], wdata_q, wmask);
          AddrImagesHi: images_o[63:32]  <= merge(images_o[63:32], wdata_q, wmask);
          AddrResLo:    results_o[31:0]  <= merge(results_o[31:0], wdata_q, wmask);
          AddrResHi:    results_o[63:32] <= merge(results_o[63:32], wdata_q, wmask);
          AddrTraceLo:  trace_o[31:0]    <= merge(trace_o[31:0], wdata_q, wmask);
          AddrTraceHi:  trace_o[63:32]   <= merge(trace_o[63:32], wdata_q, wmask);
          AddrNImages:  n_images_o       <= merge(n_images_o, wdata_q, wmask);
          AddrFlags:    flags_o          <= merge(flags_o, wdata_q, wmask);
          default: ;
        endcase
      end
    end
  end

  // ---- read channel ------------------------------------------------------------
  logic [31:0] rd_word;

  assign arready_o = !rvalid_o;
  assign rresp_o   = 2'b00;
  assign rd_ctrl   = arvalid_i && arready_o && ({araddr_i[ADDR_W-1:2], 2'b00} == AddrCtrl);

  always_comb begin
    unique case ({araddr_i[ADDR_W-1:2], 2'b00})
      AddrCtrl:     rd_word = {22'd0, interrupt_o, 1'b0, auto_restart_q, 3'd0, ap_ready_q,
                               idle_q, ap_done_q, ap_start_q};
      AddrGie:      rd_word = {31'd0, gie_q};
      AddrIer:      rd_word = {30'd0, ier_q};
      AddrIsr:      rd_word = {30'd0, isr_q};
      AddrModelLo:  rd_word = model_o[31:0];
      AddrModelHi:  rd_word = model_o[63:32];
      AddrImagesLo: rd_word = images_o[31:0];
      AddrImagesHi: rd_word = images_o[63:32];
      AddrResLo:    rd_word = results_o[31:0];
      AddrResHi:    rd_word = results_o[63:32];
      AddrTraceLo:  rd_word = trace_o[31:0];
      AddrTraceHi:  rd_word = trace_o[63:32];
      AddrNImages:  rd_word = n_images_o;
      AddrFlags:    rd_word = flags_o;
      default:      rd_word = 32'd0;
    endcase
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      rvalid_o <= 1'b0;
      rdata_o  <= '0;
    end else if (arvalid_i && arready_o) begin
      rvalid_o <= 1'b1;
      rdata_o  <= rd_word;
    end else if (rvalid_o && rready_i) begin
      rvalid_o <= 1'b0;
    end
  end

endmodule
