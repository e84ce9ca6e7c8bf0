// Which addresses a model download may connect to. Link-local addresses are refused by default:
// 169.254.169.254 (and fd00:ec2::254) is the cloud metadata service, and a URL that reaches it
// turns a leaked management key into the VM's cloud credentials. The check is made on the address
// actually connected to: on the URL's host when it is an address (any spelling: the URL parser has
// already turned decimal, hex and octal IPv4 forms into dotted ones), and on every address DNS
// returns for a name, inside the lookup the connection itself uses, so a name that is re-bound
// between a check and the connection cannot slip through.
import dns, { type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import net, { BlockList } from 'node:net';

export function linkLocalAddresses(): BlockList {
  const list = new BlockList();
  list.addSubnet('169.254.0.0', 16, 'ipv4');
  list.addSubnet('fe80::', 10, 'ipv6');
  list.addAddress('fd00:ec2::254', 'ipv6');
  return list;
}

export class AddressRefused extends Error {}

/** True when `address` (an IP in any family; IPv4-mapped IPv6 included) is in `refused`. */
export function isRefusedAddress(address: string, refused: BlockList): boolean {
  const family = net.isIP(address);
  if (family === 0) return false;
  return refused.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Throws AddressRefused when the URL's host is a refused address. Names are checked at lookup. */
export function checkUrlHost(url: URL, refused: BlockList): void {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isRefusedAddress(host, refused)) throw new AddressRefused(refusal(url.hostname, host));
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
type Resolver = (hostname: string, options: LookupAllOptions, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

const systemResolver: Resolver = (hostname, options, callback) => dns.lookup(hostname, options, callback);

/**
 * A `lookup` for http(s).request that resolves as dns.lookup does and fails the connection when
 * any address of the name is refused (a name with one refused address is not trusted with others).
 */
export function guardedLookup(refused: BlockList, resolve: Resolver = systemResolver) {
  return (hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback): void => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err !== null) return callback(err, []);
      const bad = addresses.find((a) => isRefusedAddress(a.address, refused));
      if (bad !== undefined) return callback(new AddressRefused(refusal(hostname, bad.address)), []);
      if (options.all === true) return callback(null, addresses);
      const first = addresses[0];
      if (first === undefined) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };
}

function refusal(host: string, address: string): string {
  const via = host === address ? '' : ` (${host} resolves to it)`;
  return `connecting to the link-local address ${address}${via} is refused; allow_link_local_urls=true allows it`;
}
