// Which of the four wasm builds this browser loads, decided once at start: threads where the page
// is cross-origin isolated (SharedArrayBuffer), relaxed SIMD where the engine validates it.
// `just build-wasm` copies this file beside the builds, to dist/wasm/builds.js.

const v128Zero = [0xfd, 0x0c, ...new Array(16).fill(0)];
// (module (func (result v128) v128.const 0 v128.const 0 v128.const 0 f32x4.relaxed_madd))
const body = [0x00, ...v128Zero, ...v128Zero, ...v128Zero, 0xfd, 0x85, 0x02, 0x0b];
const relaxedMaddModule = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, body.length + 2, 0x01, body.length, ...body, // code section
]);

/** Whether this engine runs relaxed SIMD: engines without it reject a whole module that uses it. */
export const relaxedSimd = WebAssembly.validate(relaxedMaddModule);

/**
 * The folder, under wasm/, of the build for a page that is (or is not) cross-origin isolated.
 * @param {boolean} crossOriginIsolated
 * @param {boolean} [relaxed]
 * @returns {string}
 */
export function buildFor(crossOriginIsolated, relaxed = relaxedSimd) {
  return `${crossOriginIsolated ? 'threads' : 'single'}${relaxed ? '-relaxed' : ''}`;
}
