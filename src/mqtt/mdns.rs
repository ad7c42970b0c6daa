//! Finds a `.local` broker (`homeassistant.local`) by asking the network's mDNS responders directly,
//! for when the system resolver cannot: the static armv6 build for the Pi Zero cannot load Pi OS's
//! nss-mdns plugin (deploy/RASPBERRY-PI.md), and a minimal Debian has no such plugin at all.
//!
//! A one-shot query (RFC 6762 §5.1): one question for the name's IPv4 address, sent from an ephemeral
//! port to 224.0.0.251:5353. A query from a port other than 5353 is a "legacy unicast" query, which
//! every responder (Avahi, Home Assistant's python-zeroconf, Apple's mDNSResponder) answers straight
//! back to that port (§6.7), so no multicast group is joined and nothing listens on 5353. A multicast
//! packet lost on Wi-Fi is common: the query goes out [`TRIES`] times within [`WAIT`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use simple_dns::rdata::RData;
use simple_dns::{CLASS, Name, Packet, Question, TYPE};
use tokio::net::UdpSocket;
use tokio::time::Instant;

/// The mDNS group and port.
const GROUP: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 251)), 5353);
/// How long to wait for an answer in all.
pub const WAIT: Duration = Duration::from_millis(1500);
/// How often the query is sent within [`WAIT`].
const TRIES: u32 = 3;
/// The largest mDNS message (RFC 6762 §17).
const MAX_MESSAGE: usize = 9000;

/// Why no address came back.
#[derive(Debug, thiserror::Error)]
pub enum MdnsError {
    #[error("not a DNS name: {0}")]
    BadName(String),
    #[error("no mDNS responder answered within {}", humantime::format_duration(*.0))]
    NoAnswer(Duration),
    #[error("cannot send the mDNS query: {0}")]
    Io(#[from] std::io::Error),
}

/// Whether `host` is a name that only mDNS answers: one under `.local` (RFC 6762 §3).
pub fn is_local(host: &str) -> bool {
    let name = host.trim_end_matches('.');
    name.len() > ".local".len()
        && name
            .get(name.len() - ".local".len()..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(".local"))
}

/// The IPv4 address the network's mDNS responders give for `host`.
pub async fn resolve(host: &str) -> Result<Ipv4Addr, MdnsError> {
    resolve_via(host, GROUP, WAIT).await
}

/// [`resolve`], asking `to` (the mDNS group, or a test's responder) and waiting up to `wait`.
async fn resolve_via(host: &str, to: SocketAddr, wait: Duration) -> Result<Ipv4Addr, MdnsError> {
    let name = host.trim_end_matches('.');
    let query = query(name)?;
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).await?;
    let mut buf = vec![0u8; MAX_MESSAGE];
    let start = Instant::now();
    for attempt in 1..=TRIES {
        socket.send_to(&query, to).await?;
        let until = start + wait * attempt / TRIES;
        while let Ok(got) = tokio::time::timeout_at(until, socket.recv_from(&mut buf)).await {
            // Whatever else arrives on our port (a stray packet, a reply that answers something
            // else) is skipped; a receive error on an unconnected UDP socket is transient.
            if let Ok((n, _)) = got
                && let Some(ip) = answer(&buf[..n], name)
            {
                return Ok(ip);
            }
        }
    }
    Err(MdnsError::NoAnswer(wait))
}

/// The query message: one question, type A, class IN, with the "unicast response" bit.
fn query(name: &str) -> Result<Vec<u8>, MdnsError> {
    let bad = |_| MdnsError::BadName(name.to_owned());
    let mut packet = Packet::new_query(0);
    let qname = Name::new(name).map_err(bad)?;
    packet
        .questions
        .push(Question::new(qname, TYPE::A.into(), CLASS::IN.into(), true));
    packet.build_bytes_vec().map_err(bad)
}

/// The IPv4 address that `message` gives for `name`, from its answers or its additional records.
fn answer(message: &[u8], name: &str) -> Option<Ipv4Addr> {
    let packet = Packet::parse(message).ok()?;
    packet
        .answers
        .iter()
        .chain(&packet.additional_records)
        .find_map(|rr| match &rr.rdata {
            RData::A(a) if same_name(&rr.name.to_string(), name) => Some(Ipv4Addr::from(a.address)),
            _ => None,
        })
}

/// DNS names compare without regard to ASCII case or a trailing dot.
fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use simple_dns::ResourceRecord;
    use simple_dns::rdata::A;

    /// A response carrying `records` (name, address) as answers, as a responder builds it.
    fn response(records: &[(&str, Ipv4Addr)], additional: bool) -> Vec<u8> {
        let mut p = Packet::new_reply(0);
        for (name, ip) in records {
            let rr = ResourceRecord::new(
                Name::new_unchecked(name),
                CLASS::IN,
                120,
                RData::A(A::from(*ip)),
            );
            if additional {
                p.additional_records.push(rr);
            } else {
                p.answers.push(rr);
            }
        }
        p.build_bytes_vec().unwrap()
    }

    #[test]
    fn only_names_under_local_are_for_mdns() {
        assert!(is_local("homeassistant.local"));
        assert!(is_local("HomeAssistant.LOCAL."));
        assert!(!is_local(".local"));
        assert!(!is_local("local"));
        assert!(!is_local("broker.localdomain"));
        assert!(!is_local("192.168.1.10"));
        assert!(!is_local("broker.example.org"));
        assert!(!is_local("ü.lcal"));
    }

    #[test]
    fn the_query_asks_one_question_for_an_ipv4_address_by_unicast() {
        let bytes = query("homeassistant.local").unwrap();
        let p = Packet::parse(&bytes).unwrap();
        assert_eq!(p.questions.len(), 1);
        let q = &p.questions[0];
        assert_eq!(q.qname.to_string(), "homeassistant.local");
        assert_eq!(q.qtype, TYPE::A.into());
        assert!(q.unicast_response, "the QU bit");
        let long_label = format!("{}.local", "x".repeat(64));
        assert!(matches!(query(&long_label), Err(MdnsError::BadName(_))));
    }

    #[test]
    fn an_answer_is_read_from_answers_or_additional_records_for_our_name_only() {
        let ip = Ipv4Addr::new(192, 168, 1, 20);
        let other = Ipv4Addr::new(10, 0, 0, 1);
        let name = "homeassistant.local";
        assert_eq!(answer(&response(&[(name, ip)], false), name), Some(ip));
        assert_eq!(answer(&response(&[(name, ip)], true), name), Some(ip));
        assert_eq!(
            answer(&response(&[("HomeAssistant.Local", ip)], false), name),
            Some(ip),
            "names compare without case"
        );
        assert_eq!(
            answer(
                &response(&[("printer.local", other), (name, ip)], false),
                name
            ),
            Some(ip)
        );
        assert_eq!(
            answer(&response(&[("printer.local", other)], false), name),
            None
        );
        assert_eq!(answer(b"\x00\x01garbage", name), None);
        assert_eq!(answer(&[], name), None);
    }

    /// A responder on loopback that ignores the first `ignore` queries, then answers with `ip`.
    async fn responder(
        ignore: usize,
        ip: Ipv4Addr,
    ) -> (SocketAddr, tokio::task::JoinHandle<usize>) {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let addr = socket.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 512];
            let mut seen = 0;
            loop {
                let (n, from) = socket.recv_from(&mut buf).await.unwrap();
                let q = Packet::parse(&buf[..n]).unwrap();
                let name = q.questions[0].qname.to_string();
                seen += 1;
                if seen > ignore {
                    // Noise first (another name), then the answer.
                    let noise = response(&[("printer.local", Ipv4Addr::new(10, 9, 9, 9))], false);
                    socket.send_to(&noise, from).await.unwrap();
                    socket
                        .send_to(&response(&[(&name, ip)], false), from)
                        .await
                        .unwrap();
                    return seen;
                }
            }
        });
        (addr, task)
    }

    #[tokio::test]
    async fn a_lost_query_is_sent_again_and_the_answer_for_our_name_wins() {
        let ip = Ipv4Addr::new(192, 168, 1, 20);
        let (addr, task) = responder(1, ip).await;
        // The second query goes out after a third of the wait.
        let got = resolve_via("homeassistant.local", addr, Duration::from_secs(3)).await;
        assert_eq!(got.unwrap(), ip);
        assert_eq!(task.await.unwrap(), 2, "answered the second query");
    }

    #[tokio::test]
    async fn silence_is_an_error_after_the_wait() {
        let (addr, task) = responder(usize::MAX, Ipv4Addr::LOCALHOST).await;
        let got = resolve_via("nobody.local", addr, Duration::from_millis(300)).await;
        assert!(matches!(got, Err(MdnsError::NoAnswer(_))), "{got:?}");
        task.abort();
    }
}
