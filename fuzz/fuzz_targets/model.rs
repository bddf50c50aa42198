#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lantern_fuzz::own_model(data);
});
