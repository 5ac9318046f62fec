// snn_sched - sequencer of the accumulate side. It walks the jobs of a run
// in order: per image, layer 0 once, then every other CONV / FC / OUT layer
// for t = 0..T-1 (layer-major), and starts each job when
//
//   * its accumulator bank (jobs alternate between banks 0 and 1) has been
//     handed back by the post side,
//   * its input exists: layer 0 needs the image in the pixel buffer, layer l
//     the spike map of step t of the LIF layer feeding it (post group count),
//
// configures the scanner and the expander for it, and when the accumulator
// reports the end of the job hands the bank to the post side with a token
// carrying the job's synapse count. One job is in the pipeline at a time.
`default_nettype none

module snn_sched
  import snn_pkg::*;
#(
  parameter int unsigned MAX_LAYERS = 16  // layers
) (
  input  wire              clk_i,
  input  wire              rst_ni,
  input  wire              start_i,
  input  wire [31:0]       n_images_i,
  input  layer_cfg_t [MAX_LAYERS-1:0] cfg_i,
  input  wire [4:0]        n_layers_i,
  input  wire [4:0]        t_i,
  input  wire [8:0]        gpi_i,          // post groups per image
  input  wire [AddrW-1:0]  n_pix_i,
  input  wire [DimW-1:0]   img_h_i,        // image height and width
  input  wire [DimW-1:0]   img_w_i,
  // inputs available
  input  wire [1:0]        pix_full_i,
  output logic [1:0]       pix_release_o,
  input  wire [31:0]       groups_i,       // post groups finished
  input  wire              free_i,         // post hands a bank back
  input  wire              free_bank_i,
  // job control
  output logic             job_start_o,    // pulse: scanner and expander start
  output logic             job_bank_o,
  output layer_cfg_t       job_cfg_o,      // consumer layer, stable during the job
  output logic             scan_pix_o,
  output logic             scan_slot_o,
  output logic [AddrW-1:0] scan_n_pix_o,
  output logic             scan_buf_o,
  output logic [AddrW-1:0] scan_base_o,
  output logic [DimW-1:0]  scan_grp_o,
  output logic [4:0]       scan_last_lanes_o,
  output logic [DimW-1:0]  scan_h_o,
  output logic [DimW-1:0]  scan_w_o,
  output logic [7:0]       scan_wpr_o,
  input  wire              job_done_i,     // accumulator: end of job passed
  input  wire [31:0]       job_synops_i,
  // tokens to the post side
  output logic             tok_valid_o,
  input  wire              tok_ready_i,
  output logic             tok_bank_o,
  output logic [31:0]      tok_synops_o,
  output logic             idle_o
);

  localparam int unsigned LIW = $clog2(MAX_LAYERS);

  typedef enum logic [2:0] { SIdle, SNext, SWait, SStart, SRun, STok } state_e;
  state_e state_q, state_d;

  logic [31:0]    img_q, n_images_q;
  logic [4:0]     l_q, t_q;
  logic           bank_q;
  logic [1:0]     busy_q;
  logic [31:0]    gbase_q;

  layer_cfg_t cl, cs;
  assign cl = cfg_i[l_q[LIW-1:0]];
  logic [LIW-1:0] src_i;
  assign src_i = (l_q == '0) ? '0 : LIW'(l_q - 1'b1);
  assign cs    = cfg_i[src_i];

  logic ready;
  always_comb begin
    ready = !busy_q[bank_q];
    if (l_q == '0) ready = ready && pix_full_i[img_q[0]];
    else ready = ready && (groups_i >= gbase_q + 32'(cl.src_gbase) + 32'(t_q) + 32'd1);
  end

  logic last_of_layer, last_layer;
  assign last_of_layer = (l_q == '0) || (t_q == t_i - 1'b1);
  assign last_layer    = (l_q == n_layers_i - 1'b1);

  always_comb begin
    state_d = state_q;
    unique case (state_q)
      SIdle:  if (start_i) state_d = (n_images_i == '0) ? SIdle : SNext;
      SNext:  state_d = (cl.kind == KindPool) ? SNext : SWait;
      SWait:  if (ready) state_d = SStart;
      SStart: state_d = SRun;
      SRun:   if (job_done_i) state_d = STok;
      STok:   if (tok_ready_i) state_d = (last_of_layer && last_layer && img_q + 1 == n_images_q) ? SIdle : SNext;
      default: state_d = SIdle;
    endcase
  end

  assign job_start_o  = (state_q == SStart);
  assign job_bank_o   = bank_q;
  assign tok_valid_o  = (state_q == STok);
  assign tok_bank_o   = bank_q;
  assign idle_o       = (state_q == SIdle);

  always_ff @(posedge clk_i) begin
    if (!rst_ni) state_q <= SIdle;
    else         state_q <= state_d;
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      busy_q        <= 2'b00;
      pix_release_o <= 2'b00;
      img_q         <= '0;
      l_q           <= '0;
      t_q           <= '0;
      bank_q        <= 1'b0;
      gbase_q       <= '0;
    end else begin
      pix_release_o <= 2'b00;
      if (free_i) busy_q[free_bank_i] <= 1'b0;
      unique case (state_q)
        SIdle: if (start_i) begin
          img_q      <= '0;
          n_images_q <= n_images_i;
          l_q        <= '0;
          t_q        <= '0;
          bank_q     <= 1'b0;
          busy_q     <= 2'b00;
          gbase_q    <= '0;
        end
        SNext: if (cl.kind == KindPool) l_q <= l_q + 1'b1;
        SWait: if (ready) begin
          job_cfg_o         <= cl;
          scan_pix_o        <= (l_q == '0);
          scan_slot_o       <= img_q[0];
          scan_n_pix_o      <= n_pix_i;
          scan_buf_o        <= cs.map_buf;
          scan_base_o       <= AddrW'(t_q) * cs.wps;
          scan_grp_o        <= cs.grp;
          scan_last_lanes_o <= cs.last_lanes;
          scan_h_o          <= (l_q == '0) ? img_h_i : cs.out_h;
          scan_w_o          <= (l_q == '0) ? img_w_i : cs.out_w;
          scan_wpr_o        <= cs.wpr;
        end
        SStart: busy_q[bank_q] <= 1'b1;
        SRun: begin
          if (job_done_i) begin
            tok_synops_o <= job_synops_i;
            if (l_q == '0) pix_release_o[img_q[0]] <= 1'b1;
          end
        end
        STok: if (tok_ready_i) begin
          bank_q <= !bank_q;
          if (last_of_layer) begin
            t_q <= '0;
            if (last_layer) begin
              l_q     <= '0;
              img_q   <= img_q + 1'b1;
              gbase_q <= gbase_q + 32'(gpi_i);
            end else begin
              l_q <= l_q + 1'b1;
            end
          end else begin
            t_q <= t_q + 1'b1;
          end
        end
        default: ;
      endcase
    end
  end

endmodule
