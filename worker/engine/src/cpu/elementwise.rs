//! Per-element and per-channel kernels, split over rayon (candle's run on one thread).

use candle_core::Tensor;
use rayon::prelude::*;

use super::{tensor_from, with_f32};
use crate::ops::Activation;

const CHUNK: usize = 1 << 14;

pub fn activation(x: &Tensor, activation: Activation) -> candle_core::Result<Tensor> {
    let mut data = with_f32(x, |x| x.to_vec())?;
    data.par_chunks_mut(CHUNK).for_each(|chunk| chunk.iter_mut().for_each(|v| *v = activation.apply(*v)));
    tensor_from(data, x.dims())
}

/// Softmax over the middle axis of an [outer, len, inner] view.
pub fn softmax(x: &Tensor, outer: usize, len: usize, inner: usize) -> candle_core::Result<Tensor> {
    let mut data = with_f32(x, |x| x.to_vec())?;
    data.par_chunks_mut(len * inner).take(outer).for_each(|block| {
        for j in 0..inner {
            let max = (0..len).map(|i| block[i * inner + j]).fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0.0;
            for i in 0..len {
                let e = (block[i * inner + j] - max).exp();
                block[i * inner + j] = e;
                sum += e;
            }
            for i in 0..len {
                block[i * inner + j] /= sum;
            }
        }
    });
    tensor_from(data, x.dims())
}

fn channels_and_plane(x: &Tensor) -> (usize, usize) {
    let dims = x.dims();
    let channels = dims.get(1).copied().unwrap_or(1);
    (channels, dims.iter().skip(2).product())
}

pub fn instance_norm(x: &Tensor, scale: &Tensor, bias: &Tensor, epsilon: f32) -> candle_core::Result<Tensor> {
    let (channels, plane) = channels_and_plane(x);
    let (scale, bias) = (scale.to_vec1::<f32>()?, bias.to_vec1::<f32>()?);
    let mut data = with_f32(x, |x| x.to_vec())?;
    data.par_chunks_mut(plane.max(1)).enumerate().for_each(|(i, p)| {
        let c = i % channels;
        // f64 sums: planes of a million values lose digits in f32.
        let mean = p.iter().map(|&v| v as f64).sum::<f64>() / plane as f64;
        let var = p.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / plane as f64;
        let k = scale[c] as f64 / (var + epsilon as f64).sqrt();
        let (k, shift) = (k as f32, (bias[c] as f64 - mean * k) as f32);
        p.iter_mut().for_each(|v| *v = *v * k + shift);
    });
    tensor_from(data, x.dims())
}

pub fn channel_affine(x: &Tensor, scale: &Tensor, shift: &Tensor) -> candle_core::Result<Tensor> {
    let (channels, plane) = channels_and_plane(x);
    let (scale, shift) = (scale.to_vec1::<f32>()?, shift.to_vec1::<f32>()?);
    let mut data = with_f32(x, |x| x.to_vec())?;
    data.par_chunks_mut(plane.max(1)).enumerate().for_each(|(i, p)| {
        let c = i % channels;
        p.iter_mut().for_each(|v| *v = *v * scale[c] + shift[c]);
    });
    tensor_from(data, x.dims())
}
