//! DDP (Distributed Display Protocol, 3waylabs) packet parsing: the header, validated, and a borrowed
//! view of the pixel data. Pure and allocation-free; every malformed datagram is a typed [`DdpError`].
//!
//! Layout (multi-byte fields big-endian): byte 0 flags `VV x T S R Q P` (version 1 = `01`, T timecode,
//! S storage, R reply, Q query, P push), byte 1 sequence (low 4 bits), byte 2 data type, byte 3
//! destination id, bytes 4–7 data offset in bytes, bytes 8–9 data length, then 4 bytes of timecode when
//! T is set, then the data. The data type is accepted loosely (senders send 0, 1 or 0x0B for RGB, and
//! channels per pixel come from the strip, not the packet).

/// UDP port DDP senders use.
pub const DEFAULT_PORT: u16 = 4048;
/// Largest data block a standard DDP packet carries (480 RGB or 360 RGBW pixels).
pub const MAX_DATA: usize = 1440;
/// Header length without / with the timecode field.
pub const HEADER: usize = 10;
pub const HEADER_TIMECODE: usize = 14;

const VERSION_MASK: u8 = 0xC0;
const VERSION_1: u8 = 0x40;
const FLAG_TIMECODE: u8 = 0x10;
const FLAG_REPLY: u8 = 0x04;
const FLAG_QUERY: u8 = 0x02;
const FLAG_PUSH: u8 = 0x01;

/// Destination ids that address pixel data (0 is "reserved" but some senders send it; 255 = all).
const ID_DEFAULT: u8 = 1;
const ID_ALL: u8 = 255;
const ID_RESERVED: u8 = 0;

/// One valid DDP data packet, borrowing the datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DdpPacket<'a> {
    /// The last packet of a frame: show what has been received.
    pub push: bool,
    pub sequence: u8,
    /// Byte offset of `data` in the display buffer.
    pub offset: u32,
    pub data: &'a [u8],
}

/// Why a datagram is not a usable DDP data packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DdpError {
    #[error("truncated: {0} bytes is shorter than the header")]
    Truncated(usize),
    #[error("not DDP version 1 (flags {0:#04x})")]
    Version(u8),
    #[error("query or reply packet, not pixel data")]
    NotData,
    #[error("destination id {0} is not a pixel output")]
    Destination(u8),
    #[error("data length {0} is over the {MAX_DATA} byte limit")]
    TooLong(usize),
    #[error("data length {declared} runs past the end of the {available} bytes received")]
    PastEnd { declared: usize, available: usize },
}

/// Parses one datagram.
pub fn parse(buf: &[u8]) -> Result<DdpPacket<'_>, DdpError> {
    if buf.len() < HEADER {
        return Err(DdpError::Truncated(buf.len()));
    }
    let flags = buf[0];
    if flags & VERSION_MASK != VERSION_1 {
        return Err(DdpError::Version(flags));
    }
    if flags & (FLAG_QUERY | FLAG_REPLY) != 0 {
        return Err(DdpError::NotData);
    }
    let id = buf[3];
    if !matches!(id, ID_DEFAULT | ID_ALL | ID_RESERVED) {
        return Err(DdpError::Destination(id));
    }
    let header = if flags & FLAG_TIMECODE != 0 {
        HEADER_TIMECODE
    } else {
        HEADER
    };
    if buf.len() < header {
        return Err(DdpError::Truncated(buf.len()));
    }
    let offset = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
    let len = u16::from_be_bytes([buf[8], buf[9]]) as usize;
    if len > MAX_DATA {
        return Err(DdpError::TooLong(len));
    }
    let available = buf.len() - header;
    if len > available {
        return Err(DdpError::PastEnd {
            declared: len,
            available,
        });
    }
    Ok(DdpPacket {
        push: flags & FLAG_PUSH != 0,
        sequence: buf[1] & 0x0F,
        offset,
        data: &buf[header..header + len],
    })
}

/// Builds a data packet into `out` (tests, benches and tools); returns its length.
pub fn build(out: &mut Vec<u8>, offset: u32, data: &[u8], push: bool, sequence: u8) -> usize {
    out.clear();
    out.push(VERSION_1 | if push { FLAG_PUSH } else { 0 });
    out.push(sequence & 0x0F);
    out.push(0x0B);
    out.push(ID_DEFAULT);
    out.extend_from_slice(&offset.to_be_bytes());
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
    out.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(flags: u8, id: u8, offset: u32, len: u16, data: &[u8]) -> Vec<u8> {
        let mut v = vec![flags, 3, 0x01, id];
        v.extend_from_slice(&offset.to_be_bytes());
        v.extend_from_slice(&len.to_be_bytes());
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn parses_a_data_packet_and_its_push_flag() {
        let p = packet(0x41, 1, 300, 6, &[1, 2, 3, 4, 5, 6]);
        let d = parse(&p).unwrap();
        assert!(d.push);
        assert_eq!(
            (d.offset, d.sequence, d.data),
            (300, 3, &[1, 2, 3, 4, 5, 6][..])
        );
        let p = packet(0x40, 255, 0, 3, &[9, 9, 9, 7]);
        let d = parse(&p).unwrap();
        assert!(!d.push);
        assert_eq!(
            d.data,
            &[9, 9, 9],
            "trailing bytes beyond the length are ignored"
        );
    }

    #[test]
    fn timecode_moves_the_data() {
        let mut p = packet(0x51, 1, 0, 3, &[]);
        p.extend_from_slice(&[0xAA, 0xBB, 0xCC, 0xDD, 7, 8, 9]);
        assert_eq!(parse(&p).unwrap().data, &[7, 8, 9]);
    }

    #[test]
    fn data_type_byte_is_accepted_loosely() {
        for t in [0u8, 1, 0x0B, 0x1B, 0xFF] {
            let mut p = packet(0x41, 1, 0, 3, &[1, 2, 3]);
            p[2] = t;
            assert!(parse(&p).is_ok(), "type {t:#x}");
        }
    }

    #[test]
    fn rejects_bad_packets_with_a_reason() {
        let cases: Vec<(Vec<u8>, DdpError)> = vec![
            (vec![0x41, 0, 1], DdpError::Truncated(3)),
            (packet(0x81, 1, 0, 0, &[]), DdpError::Version(0x81)),
            (packet(0x43, 1, 0, 0, &[]), DdpError::NotData),
            (packet(0x45, 1, 0, 0, &[]), DdpError::NotData),
            (packet(0x41, 251, 0, 0, &[]), DdpError::Destination(251)),
            (packet(0x41, 1, 0, 1441, &[]), DdpError::TooLong(1441)),
            (
                packet(0x41, 1, 0, 6, &[1, 2, 3]),
                DdpError::PastEnd {
                    declared: 6,
                    available: 3,
                },
            ),
            (packet(0x51, 1, 0, 0, &[1, 2]), DdpError::Truncated(12)),
        ];
        for (p, want) in cases {
            assert_eq!(parse(&p), Err(want), "{p:?}");
        }
    }

    #[test]
    fn build_round_trips() {
        let mut buf = Vec::new();
        build(&mut buf, 1440, &[5; 30], true, 17);
        let d = parse(&buf).unwrap();
        assert_eq!(
            (d.offset, d.push, d.sequence, d.data.len()),
            (1440, true, 1, 30)
        );
    }
}
