//! Row order of the query and key projections in GGUF files.
//!
//! Hugging Face LLaMA checkpoints rotate with `rotate_half`: inside each head of width
//! `d`, dimension `i` pairs with `i + d/2` (the convention of [`crate::llm::forward::Rope`]).
//! ggml's RoPE (`ggml_rope`, mode 0, the one llama.cpp uses for LLaMA) pairs adjacent
//! dimensions `2i` and `2i + 1` instead, so llama.cpp's `convert_hf_to_gguf.py` permutes
//! the output rows of `q_proj` (per query head) and `k_proj` (per key/value head) when it
//! writes a GGUF file (`LlamaModel.permute`):
//!
//! ```text
//! w.reshape(n_head, 2, d/2, in).swapaxes(1, 2).reshape(w.shape)
//! ```
//!
//! so GGUF row `h*d + 2i + s` holds Hugging Face row `h*d + s*d/2 + i` (`s` in {0, 1},
//! `i < d/2`). The loader undoes this; the writer applies it. The permutation acts inside
//! each head, so only the head width matters, not the number of heads.

/// The Hugging Face row that GGUF row `row` of a q or k projection holds, for heads of
/// width `head_dim` (even). Inverse of [`gguf_row`].
pub fn hf_row(row: usize, head_dim: usize) -> usize {
    let (head, j) = (row / head_dim, row % head_dim);
    head * head_dim + (j % 2) * (head_dim / 2) + j / 2
}

/// The GGUF row where Hugging Face row `row` of a q or k projection is stored, for heads
/// of width `head_dim` (even). Inverse of [`hf_row`].
pub fn gguf_row(row: usize, head_dim: usize) -> usize {
    let half = head_dim / 2;
    let (head, j) = (row / head_dim, row % head_dim);
    head * head_dim + 2 * (j % half) + j / half
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_of_each_other_and_a_permutation() {
        for d in [2, 4, 8, 64] {
            let n = 3 * d;
            let mut seen = vec![false; n];
            for r in 0..n {
                assert_eq!(gguf_row(hf_row(r, d), d), r);
                assert_eq!(hf_row(gguf_row(r, d), d), r);
                seen[hf_row(r, d)] = true;
                // Rows never leave their head.
                assert_eq!(hf_row(r, d) / d, r / d);
            }
            assert!(seen.iter().all(|&s| s));
        }
    }

    #[test]
    fn matches_the_reshape_swapaxes_definition() {
        // Head width 4: HF rows [a0 a1 | b0 b1] (a pairs with b under rotate_half) are
        // stored interleaved as [a0 b0 a1 b1], i.e. HF rows 0, 2, 1, 3.
        let stored: Vec<usize> = (0..8).map(|r| hf_row(r, 4)).collect();
        assert_eq!(stored, [0, 2, 1, 3, 4, 6, 5, 7]);
    }
}
