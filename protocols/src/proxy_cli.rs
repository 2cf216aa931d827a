//! The `--proxy-protocol` flags of the servers' command lines: `--proxy-protocol` for every
//! server, `--http-proxy-protocol`, `--ws-proxy-protocol`, `--ftp-proxy-protocol` and
//! `--telnet-proxy-protocol` for one. Without a value (`--http-proxy-protocol`) every
//! connection must start with a PROXY protocol header; with a list of sources
//! (`--http-proxy-protocol=10.0.0.5,10.0.1.0/24`) connections from those must and the others
//! are taken as they are ([`ProxyProtocol`]).

use netreactor::{Cidr, ListenOptions, ProxyProtocol};

/// Parses a flag's value: empty for [`ProxyProtocol::Required`], else comma-separated
/// addresses or CIDR ranges for [`ProxyProtocol::Optional`].
///
/// ```
/// use netreactor::ProxyProtocol;
/// use netreactor_protocols::proxy_cli::parse_proxy_protocol;
///
/// assert_eq!(parse_proxy_protocol(""), Ok(ProxyProtocol::Required));
/// let trusted = parse_proxy_protocol("127.0.0.4,10.0.0.0/8").unwrap();
/// assert!(trusted.expects_header(Some("10.9.9.9:1".parse().unwrap())));
/// assert!(parse_proxy_protocol("10.0.0.1/8").is_err());
/// ```
pub fn parse_proxy_protocol(value: &str) -> Result<ProxyProtocol, String> {
    if value.is_empty() {
        return Ok(ProxyProtocol::Required);
    }
    let trusted = value
        .split(',')
        .map(|part| part.trim().parse::<Cidr>().map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ProxyProtocol::Optional(trusted))
}

/// `base` with the PROXY protocol of one server: its own flag, else the one for every
/// server, else none.
pub fn listen_for(
    base: &ListenOptions,
    own: Option<&ProxyProtocol>,
    every: Option<&ProxyProtocol>,
) -> ListenOptions {
    let mut opts = base.clone();
    opts.proxy_protocol = own.or(every).cloned();
    opts
}
