//! E1.31 (sACN, ANSI E1.31-2018) data packet parsing: root, framing and DMP layers validated, a borrowed
//! view of the DMX slots. Pure and allocation-free; every malformed datagram is a typed [`E131Error`].
//!
//! Offsets (big-endian): root layer 0–37 (preamble 0x0010, postamble 0, the ACN identifier, flags and
//! length, vector 4 = data, CID), framing layer 38–114 (flags and length, vector 2, source name,
//! priority, sync address, sequence, options, universe), DMP layer 115–125 (flags and length, vector 2,
//! address/data type 0xA1, first address 0, increment 1, property count = 1 + slots, start code), then
//! up to 512 slots. Every PDU length must match the datagram. Universe synchronisation and discovery
//! packets (root vector 8) are reported as [`E131Error::NotData`] so the receiver can count them apart.

/// UDP port sACN uses, unicast and multicast.
pub const DEFAULT_PORT: u16 = 5568;
/// Offset of the first DMX slot (after the start code).
pub const DATA_OFFSET: usize = 126;
/// Most slots a universe carries.
pub const MAX_SLOTS: usize = 512;

const ACN_ID: [u8; 12] = *b"ASC-E1.17\0\0\0";
const VECTOR_ROOT_DATA: u32 = 0x0000_0004;
const VECTOR_ROOT_EXTENDED: u32 = 0x0000_0008;
const VECTOR_FRAMING_DATA: u32 = 0x0000_0002;
const VECTOR_DMP_SET_PROPERTY: u8 = 0x02;
const DMP_ADDRESS_TYPE: u8 = 0xA1;
const OPTION_PREVIEW: u8 = 0x80;
const OPTION_TERMINATED: u8 = 0x40;
/// Highest priority a source may send (E1.31 §6.2.3).
pub const MAX_PRIORITY: u8 = 200;

/// One valid E1.31 data packet, borrowing the datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct E131Packet<'a> {
    /// Component identifier: who sent it (sources are told apart by CID, not address).
    pub cid: [u8; 16],
    pub priority: u8,
    pub sequence: u8,
    pub universe: u16,
    /// The stream-terminated option: the source is leaving; its data must be ignored.
    pub terminated: bool,
    /// DMX slots 1..=n (the start code is not included).
    pub slots: &'a [u8],
    /// The source name's bytes up to the first NUL (UTF-8 by the standard, not checked).
    pub name: &'a [u8],
}

/// Why a datagram is not a usable E1.31 data packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum E131Error {
    #[error("truncated: {0} bytes")]
    Truncated(usize),
    #[error("root layer: preamble, postamble or ACN packet identifier is wrong")]
    Identifier,
    #[error("{layer} layer: flags/length field does not match the datagram")]
    Length { layer: &'static str },
    #[error("universe synchronisation or discovery packet (not pixel data)")]
    NotData,
    #[error("{layer} layer: unknown vector")]
    Vector { layer: &'static str },
    #[error("DMP layer: address type, first address or increment is wrong")]
    Dmp,
    #[error("priority {0} is over 200")]
    Priority(u8),
    #[error("universe {0} is outside 1–63999")]
    Universe(u16),
    #[error("start code {0:#04x} is not 0 (only dimmer data is pixel data)")]
    StartCode(u8),
    #[error("preview data (for visualisers only)")]
    Preview,
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// Checks a PDU's flags (0x7) and that its length runs exactly to the end of the datagram.
fn pdu(b: &[u8], at: usize, layer: &'static str) -> Result<(), E131Error> {
    let v = u16_at(b, at);
    if v >> 12 != 0x7 || (v & 0x0FFF) as usize != b.len() - at {
        return Err(E131Error::Length { layer });
    }
    Ok(())
}

/// Parses one datagram.
pub fn parse(b: &[u8]) -> Result<E131Packet<'_>, E131Error> {
    if b.len() < 22 {
        return Err(E131Error::Truncated(b.len()));
    }
    if u16_at(b, 0) != 0x0010 || u16_at(b, 2) != 0 || b[4..16] != ACN_ID {
        return Err(E131Error::Identifier);
    }
    match u32_at(b, 18) {
        VECTOR_ROOT_DATA => {}
        VECTOR_ROOT_EXTENDED => return Err(E131Error::NotData),
        _ => return Err(E131Error::Vector { layer: "root" }),
    }
    if b.len() < DATA_OFFSET {
        return Err(E131Error::Truncated(b.len()));
    }
    pdu(b, 16, "root")?;
    pdu(b, 38, "framing")?;
    if u32_at(b, 40) != VECTOR_FRAMING_DATA {
        return Err(E131Error::Vector { layer: "framing" });
    }
    pdu(b, 115, "DMP")?;
    if b[117] != VECTOR_DMP_SET_PROPERTY {
        return Err(E131Error::Vector { layer: "DMP" });
    }
    if b[118] != DMP_ADDRESS_TYPE || u16_at(b, 119) != 0 || u16_at(b, 121) != 1 {
        return Err(E131Error::Dmp);
    }
    let count = u16_at(b, 123) as usize;
    if count == 0 || count > MAX_SLOTS + 1 || count != b.len() - 125 {
        return Err(E131Error::Length { layer: "DMP" });
    }
    let priority = b[108];
    if priority > MAX_PRIORITY {
        return Err(E131Error::Priority(priority));
    }
    let universe = u16_at(b, 113);
    if !(1..=63999).contains(&universe) {
        return Err(E131Error::Universe(universe));
    }
    let options = b[112];
    if options & OPTION_PREVIEW != 0 {
        return Err(E131Error::Preview);
    }
    if b[125] != 0 {
        return Err(E131Error::StartCode(b[125]));
    }
    let mut cid = [0u8; 16];
    cid.copy_from_slice(&b[22..38]);
    let name = &b[44..108];
    let name_len = name.iter().position(|&c| c == 0).unwrap_or(name.len());
    Ok(E131Packet {
        cid,
        priority,
        sequence: b[111],
        universe,
        terminated: options & OPTION_TERMINATED != 0,
        slots: &b[DATA_OFFSET..],
        name: &name[..name_len],
    })
}

/// The sequence rule of E1.31 §6.7.2: a packet whose sequence number is not newer than the last one
/// from the same source on the same universe — by less than 20 back — is out of order and discarded.
pub fn in_sequence(last: u8, new: u8) -> bool {
    let diff = new.wrapping_sub(last) as i8;
    !(diff <= 0 && diff > -20)
}

/// The multicast group of a universe: 239.255.hi.lo.
pub fn multicast_group(universe: u16) -> std::net::Ipv4Addr {
    let [hi, lo] = universe.to_be_bytes();
    std::net::Ipv4Addr::new(239, 255, hi, lo)
}

/// Options of a packet built by [`build`].
#[derive(Clone, Copy, Debug, Default)]
pub struct BuildOptions {
    pub preview: bool,
    pub terminated: bool,
    pub start_code: u8,
}

/// Builds a data packet into `out` (tests, benches and tools); returns its length.
pub fn build(
    out: &mut Vec<u8>,
    cid: [u8; 16],
    priority: u8,
    sequence: u8,
    universe: u16,
    slots: &[u8],
    opts: BuildOptions,
) -> usize {
    let slots = &slots[..slots.len().min(MAX_SLOTS)];
    let total = DATA_OFFSET + slots.len();
    let fl = |len: usize| (0x7000 | len as u16).to_be_bytes();
    out.clear();
    out.extend_from_slice(&0x0010u16.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&ACN_ID);
    out.extend_from_slice(&fl(total - 16));
    out.extend_from_slice(&VECTOR_ROOT_DATA.to_be_bytes());
    out.extend_from_slice(&cid);
    out.extend_from_slice(&fl(total - 38));
    out.extend_from_slice(&VECTOR_FRAMING_DATA.to_be_bytes());
    let mut name = [0u8; 64];
    name[..5].copy_from_slice(b"diuna");
    out.extend_from_slice(&name);
    out.push(priority);
    out.extend_from_slice(&[0, 0]);
    out.push(sequence);
    let mut options = 0;
    if opts.preview {
        options |= OPTION_PREVIEW;
    }
    if opts.terminated {
        options |= OPTION_TERMINATED;
    }
    out.push(options);
    out.extend_from_slice(&universe.to_be_bytes());
    out.extend_from_slice(&fl(total - 115));
    out.extend_from_slice(&[VECTOR_DMP_SET_PROPERTY, DMP_ADDRESS_TYPE, 0, 0, 0, 1]);
    out.extend_from_slice(&((slots.len() + 1) as u16).to_be_bytes());
    out.push(opts.start_code);
    out.extend_from_slice(slots);
    out.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CID: [u8; 16] = [7; 16];

    fn packet(slots: &[u8], opts: BuildOptions) -> Vec<u8> {
        let mut v = Vec::new();
        build(&mut v, CID, 100, 5, 3, slots, opts);
        v
    }

    #[test]
    fn parses_every_field() {
        let p = packet(&[10, 20, 30], BuildOptions::default());
        let d = parse(&p).unwrap();
        assert_eq!(d.cid, CID);
        assert_eq!((d.priority, d.sequence, d.universe), (100, 5, 3));
        assert_eq!(d.slots, &[10, 20, 30]);
        assert_eq!(d.name, b"diuna");
        assert!(!d.terminated);
        let t = packet(
            &[1],
            BuildOptions {
                terminated: true,
                ..Default::default()
            },
        );
        assert!(parse(&t).unwrap().terminated);
        let full = packet(&[1; 600], BuildOptions::default());
        assert_eq!(parse(&full).unwrap().slots.len(), 512);
    }

    #[test]
    fn rejects_every_bad_layer() {
        let good = packet(&[1, 2, 3], BuildOptions::default());
        let with = |i: usize, v: u8| {
            let mut p = good.clone();
            p[i] = v;
            p
        };
        let cases: Vec<(Vec<u8>, E131Error)> = vec![
            (good[..20].to_vec(), E131Error::Truncated(20)),
            (good[..100].to_vec(), E131Error::Truncated(100)),
            (with(1, 0x11), E131Error::Identifier),
            (with(4, b'X'), E131Error::Identifier),
            (with(21, 8), E131Error::NotData),
            (with(21, 5), E131Error::Vector { layer: "root" }),
            (with(17, 0), E131Error::Length { layer: "root" }),
            (with(16, 0x30), E131Error::Length { layer: "root" }),
            (with(39, 0), E131Error::Length { layer: "framing" }),
            (with(43, 1), E131Error::Vector { layer: "framing" }),
            (with(116, 0), E131Error::Length { layer: "DMP" }),
            (with(117, 1), E131Error::Vector { layer: "DMP" }),
            (with(118, 0xA0), E131Error::Dmp),
            (with(122, 2), E131Error::Dmp),
            (with(124, 9), E131Error::Length { layer: "DMP" }),
            (with(108, 201), E131Error::Priority(201)),
            (with(114, 0), E131Error::Universe(0)),
            (with(125, 0xDD), E131Error::StartCode(0xDD)),
            (with(112, 0x80), E131Error::Preview),
        ];
        for (p, want) in cases {
            assert_eq!(parse(&p), Err(want));
        }
        // A datagram cut short: every length field now disagrees with it.
        let mut cut = good.clone();
        cut.pop();
        assert!(matches!(parse(&cut), Err(E131Error::Length { .. })));
    }

    #[test]
    fn sequence_rule_of_6_7_2() {
        assert!(in_sequence(5, 6));
        assert!(!in_sequence(5, 5), "a repeat is discarded");
        assert!(!in_sequence(5, 4));
        assert!(!in_sequence(5, 242), "19 back (wrapped) is out of order");
        assert!(in_sequence(5, 241), "20 back is a new stream, accepted");
        assert!(in_sequence(255, 0), "wraps forward");
        assert!(in_sequence(250, 10));
    }

    #[test]
    fn multicast_groups() {
        assert_eq!(multicast_group(1).octets(), [239, 255, 0, 1]);
        assert_eq!(multicast_group(0x0102).octets(), [239, 255, 1, 2]);
    }
}
