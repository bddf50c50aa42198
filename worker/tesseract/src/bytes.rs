//! A cursor over a component's little-endian bytes, with errors that name the field being read.

use crate::error::ReadError;

pub(crate) struct Bytes<'a> {
    data: &'a [u8],
    /// Position in `data`.
    position: usize,
    /// Where `data` starts in the whole file, so that errors give file offsets.
    base: usize,
}

impl<'a> Bytes<'a> {
    pub(crate) fn new(data: &'a [u8], base: usize) -> Bytes<'a> {
        Bytes { data, position: 0, base }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len() - self.position
    }

    pub(crate) fn take(&mut self, count: usize, what: &'static str) -> Result<&'a [u8], ReadError> {
        if count > self.remaining() {
            return Err(ReadError::Truncated { what, offset: self.base + self.data.len() });
        }
        let slice = &self.data[self.position..self.position + count];
        self.position += count;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], ReadError> {
        Ok(self.take(N, what)?.try_into().expect("take returned N bytes"))
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, ReadError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn i8(&mut self, what: &'static str) -> Result<i8, ReadError> {
        Ok(i8::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, ReadError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn i32(&mut self, what: &'static str) -> Result<i32, ReadError> {
        Ok(i32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn i64(&mut self, what: &'static str) -> Result<i64, ReadError> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn f32(&mut self, what: &'static str) -> Result<f32, ReadError> {
        Ok(f32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn f64(&mut self, what: &'static str) -> Result<f64, ReadError> {
        Ok(f64::from_le_bytes(self.array(what)?))
    }

    /// A count that sizes what follows, refused when the bytes left could not hold that many
    /// items of `item_size` bytes (a damaged count would otherwise ask for gigabytes).
    pub(crate) fn count(&mut self, item_size: usize, what: &'static str) -> Result<usize, ReadError> {
        let count = self.u32(what)? as usize;
        if count.saturating_mul(item_size) > self.remaining() {
            return Err(ReadError::Truncated { what, offset: self.base + self.data.len() });
        }
        Ok(count)
    }

    /// Tesseract's string: a u32 length, then that many bytes of UTF-8.
    pub(crate) fn string(&mut self, what: &'static str) -> Result<String, ReadError> {
        let length = self.count(1, what)?;
        let bytes = self.take(length, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| ReadError::Damaged(format!("{what} is not UTF-8")))
    }
}
