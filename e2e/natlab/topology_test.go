//go:build natlab

package natlab

import (
	"fmt"
	"slices"
	"strings"
)

// siteSpec is one name:kind of a topology description, or name:@other
// for a host behind other's router.
type siteSpec struct {
	name   string
	kind   Kind
	fam    family
	behind string
}

// parseTopology parses "name:kind name:kind ...", where a kind may be
// @name: behind the router of that earlier site, on its subnet. Sites are
// IPv4-only unless the kind says otherwise: public6 is an IPv6-only public
// host; kind+6 (public+6, cone+6, ...) is dual-stack, and behind a router
// its IPv6 is routed, not translated, through a stateful firewall; nat64
// is an IPv6-only host behind a carrier's NAT64.
func parseTopology(desc string) ([]siteSpec, error) {
	var out []siteSpec
	seen := map[string]bool{}
	for _, f := range strings.Fields(desc) {
		name, kind, ok := strings.Cut(f, ":")
		switch {
		case !ok || name == "" || len(name) > 8 || strings.ContainsAny(name, "/-"):
			return nil, fmt.Errorf("topology %q: %q is not name:kind (name 1..8 characters, no - or /)", desc, f)
		case seen[name]:
			return nil, fmt.Errorf("topology %q: %s named twice", desc, name)
		}
		base, six := strings.CutSuffix(kind, "+6")
		fam := v4only
		if six {
			fam = dual
		}
		switch k, owner := Kind(base), strings.TrimPrefix(kind, "@"); {
		case base == "public6" && !six:
			out = append(out, siteSpec{name: name, kind: Public, fam: v6only})
		case k == NAT64 && !six:
			out = append(out, siteSpec{name: name, kind: NAT64, fam: v6only})
		case k == Public || k == Cone || k == Symmetric || k == FullCone || k == NaiveCone:
			out = append(out, siteSpec{name: name, kind: k, fam: fam})
		case owner != kind && !six:
			i := slices.IndexFunc(out, func(o siteSpec) bool { return o.name == owner })
			if i < 0 || out[i].kind == Public || out[i].kind == NAT64 || out[i].behind != "" {
				return nil, fmt.Errorf("topology %q: %s: %s is not an earlier NATed site (nat64 takes one host)", desc, f, owner)
			}
			out = append(out, siteSpec{name: name, kind: out[i].kind, fam: out[i].fam, behind: owner})
		default:
			return nil, fmt.Errorf("topology %q: unknown kind %q (public, cone, symmetric, fullcone, naivecone, any of them +6, public6, nat64, or @site)", desc, kind)
		}
		seen[name] = true
	}
	if len(out) == 0 || len(out) > 200 {
		return nil, fmt.Errorf("topology %q: want 1 to 200 sites", desc)
	}
	return out, nil
}
