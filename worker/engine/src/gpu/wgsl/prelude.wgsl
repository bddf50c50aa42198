// Shared by every kernel (after the ERF_P/ERF_Q constants the engine writes in front).

@group(0) @binding(0) var<uniform> P: array<vec4<u32>, 16>;

fn word(i: u32) -> u32 {
    return P[i / 4u][i % 4u];
}

fn real(i: u32) -> f32 {
    return bitcast<f32>(word(i));
}

fn signed(i: u32) -> i32 {
    return bitcast<i32>(word(i));
}

// Element offset, in its buffer, of the tensor at binding `b` (1 and up).
fn offset(b: u32) -> u32 {
    return word(b - 1u);
}

// The flat invocation index of a 256-wide kernel dispatched as a 2-D grid of workgroups (one
// dimension holds at most 65535).
fn flat_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wid.y * nwg.x + wid.x) * 256u + lid;
}

fn group_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.y * nwg.x + wid.x;
}

// e^x saturating as the CPU's does: WGSL's exp overflows to infinity, and sigmoid and tanh
// built on it would give NaN.
fn exp_clamped(x: f32) -> f32 {
    return exp(clamp(x, -87.0, 88.0));
}

fn erf_rational(x0: f32) -> f32 {
    let x = clamp(x0, -4.0, 4.0);
    let x2 = x * x;
    var p = ERF_P[0];
    for (var i = 1u; i < 7u; i++) {
        p = p * x2 + ERF_P[i];
    }
    var q = ERF_Q[0];
    for (var i = 1u; i < 5u; i++) {
        q = q * x2 + ERF_Q[i];
    }
    return x * p / q;
}

fn power(v: f32, e: f32) -> f32 {
    // WGSL's pow is undefined for a negative base: odd and even integer powers keep their sign rules.
    if (v < 0.0 && e == floor(e)) {
        let m = pow(-v, e);
        if (fract(e * 0.5) != 0.0) {
            return -m;
        }
        return m;
    }
    return pow(v, e);
}

// Codes 0–8 are the fused activations, 9 and up the other unary functions (kernels.rs).
fn unary(v: f32, code: u32, a: f32, b: f32) -> f32 {
    switch code {
        case 0u: { return v; }
        case 1u: { return select(0.0, v, v > 0.0); }
        case 2u: { return select(a * v, v, v >= 0.0); }
        case 3u: { return 1.0 / (1.0 + exp_clamped(-v)); }
        // tanh saturates to ±1 in f32 well before |x| = 10.
        case 4u: { return tanh(clamp(v, -10.0, 10.0)); }
        case 5u: { return clamp(a * v + b, 0.0, 1.0); }
        case 6u: { return v * clamp(v / 6.0 + 0.5, 0.0, 1.0); }
        case 7u: { return clamp(v, a, b); }
        case 8u: { return 0.5 * v * (1.0 + erf_rational(v * 0.70710677)); }
        case 9u: { return erf_rational(v); }
        case 10u: { return sqrt(v); }
        case 11u: { return exp(v); }
        case 12u: { return -v; }
        case 13u: { return abs(v); }
        case 14u: { return 1.0 / v; }
        case 15u: { return v * v; }
        default: { return power(v, a); }
    }
}
