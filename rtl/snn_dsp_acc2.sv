// snn_dsp_acc2 - two 24-bit accumulators in one DSP48E2 slice (SIMD TWO24),
// for the engines of the spiking conv stages (snn_conv_engine, ACC_DSP = 1;
// docs/rtl-pipeline.md, "Accumulators in DSP slices"). Per clock with ce_i:
//
//   p_lo <= (load_i ? 0 : p_lo) + (x_en_i ? a_lo_i : 0)      24-bit wrap-around
//   p_hi <= (load_i ? 0 : p_hi) + (x_en_i ? a_hi_i : 0)      (no carry between lanes)
//
// In synthesis (SYNTHESIS defined, as by Vivado and Yosys) this is one
// DSP48E2 with P = Z + X: X = A:B ({a_hi, a_lo}) or 0 (OPMODE[1:0]), Z = P
// or 0 (OPMODE[6:4]), ALUMODE 0000, USE_SIMD TWO24, only the P register
// (PREG = 1), so the sum of a cycle is in p_*_o the next cycle, as a
// register accumulator would be. The adders, the operand enable and the
// clear cost no LUT. Otherwise (Verilator) the model above.
`default_nettype none

module snn_dsp_acc2 (
  input  wire         clk_i,
  input  wire         ce_i,       // update the accumulators
  input  wire         load_i,     // start from 0 instead of the accumulators
  input  wire         x_en_i,     // add the operands (else add 0)
  input  wire [23:0]  a_lo_i,
  input  wire [23:0]  a_hi_i,
  output logic [23:0] p_lo_o,
  output logic [23:0] p_hi_o
);

`ifdef SYNTHESIS
  wire [47:0] ab = {a_hi_i, a_lo_i};
  wire [47:0] p;
  // OPMODE = W(00) Z(load ? 000 : 010) Y(00) X(x_en ? 11 : 00)
  wire [8:0]  opmode = {2'b00, load_i ? 3'b000 : 3'b010, 2'b00, x_en_i ? 2'b11 : 2'b00};
  DSP48E2 #(
    .USE_MULT("NONE"), .USE_SIMD("TWO24"), .USE_WIDEXOR("FALSE"),
    .A_INPUT("DIRECT"), .B_INPUT("DIRECT"), .AMULTSEL("A"), .BMULTSEL("B"), .PREADDINSEL("A"),
    .AREG(0), .BREG(0), .ACASCREG(0), .BCASCREG(0), .CREG(0), .DREG(0), .ADREG(0), .MREG(0),
    .PREG(1), .INMODEREG(0), .OPMODEREG(0), .ALUMODEREG(0), .CARRYINREG(0), .CARRYINSELREG(0),
    .USE_PATTERN_DETECT("NO_PATDET"), .AUTORESET_PATDET("NO_RESET")
  ) u_dsp (
    .CLK(clk_i),
    .A(ab[47:18]), .B(ab[17:0]), .C(48'd0), .D(27'd0),
    .OPMODE(opmode), .ALUMODE(4'b0000), .INMODE(5'b00000),
    .CARRYIN(1'b0), .CARRYINSEL(3'b000),
    .CEA1(1'b0), .CEA2(1'b0), .CEB1(1'b0), .CEB2(1'b0), .CEC(1'b0), .CED(1'b0), .CEM(1'b0),
    .CEAD(1'b0), .CEP(ce_i), .CEALUMODE(1'b0), .CECTRL(1'b0), .CECARRYIN(1'b0), .CEINMODE(1'b0),
    .RSTA(1'b0), .RSTB(1'b0), .RSTC(1'b0), .RSTD(1'b0), .RSTM(1'b0), .RSTP(1'b0),
    .RSTALLCARRYIN(1'b0), .RSTALUMODE(1'b0), .RSTCTRL(1'b0), .RSTINMODE(1'b0),
    .ACIN(30'd0), .BCIN(18'd0), .PCIN(48'd0), .CARRYCASCIN(1'b0), .MULTSIGNIN(1'b0),
    .P(p), .ACOUT(), .BCOUT(), .PCOUT(), .CARRYOUT(), .CARRYCASCOUT(), .MULTSIGNOUT(),
    .OVERFLOW(), .UNDERFLOW(), .PATTERNDETECT(), .PATTERNBDETECT(), .XOROUT()
  );
  assign p_lo_o = p[23:0];
  assign p_hi_o = p[47:24];
`else
  // (an update that neither loads nor adds leaves the sums as they are: a
  // simulator skips it)
  always_ff @(posedge clk_i) begin
    if (ce_i && (load_i || x_en_i)) begin
      p_lo_o <= (load_i ? 24'd0 : p_lo_o) + (x_en_i ? a_lo_i : 24'd0);
      p_hi_o <= (load_i ? 24'd0 : p_hi_o) + (x_en_i ? a_hi_i : 24'd0);
    end
  end
`endif

endmodule
