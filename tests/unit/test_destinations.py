"""Which addresses webhooks may reach, and how their URLs appear in logs and the audit log."""
from __future__ import annotations

from ipaddress import ip_network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from allot.domain.destinations import Destinations, Refused, redact

NOT_PUBLIC = ["127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "0.0.0.0/8",
              "100.64.0.0/10", "224.0.0.0/4", "240.0.0.0/4"]


def addresses_in(cidr: str) -> st.SearchStrategy[str]:
    net = ip_network(cidr)
    return st.integers(0, net.num_addresses - 1).map(lambda i: str(net[i]))


@given(st.sampled_from(NOT_PUBLIC).flatmap(addresses_in))
def test_a_default_installation_refuses_every_private_loopback_link_local_and_reserved_address(address: str) -> None:
    assert not Destinations.from_setting("").permits(address)
    assert not Destinations.from_setting("").permits(f"::ffff:{address}")
    assert Destinations.from_setting("1").permits(address)


@given(addresses_in("127.0.0.0/8"), addresses_in("10.0.0.0/8"))
def test_an_allow_list_allows_its_networks_and_nothing_else(inside: str, outside: str) -> None:
    allowed = Destinations.from_setting("127.0.0.0/8, fd00::/8")
    assert allowed.permits(inside) and not allowed.permits(outside)


@pytest.mark.parametrize("address", ["::1", "fe80::1", "fe80::1%eth0", "fc00::5", "::", "ff02::1", "2001:db8::1"])
def test_ipv6_loopback_link_local_unique_local_multicast_and_documentation_addresses_are_refused(address: str) -> None:
    assert not Destinations().permits(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_always_allowed(address: str) -> None:
    assert Destinations().permits(address)


def test_a_name_is_refused_if_any_address_it_resolves_to_is_refused() -> None:
    with pytest.raises(Refused):
        Destinations().check(["8.8.8.8", "127.0.0.1"])
    assert Destinations().check(["8.8.8.8", "1.1.1.1", "8.8.8.8"]) == ["8.8.8.8", "1.1.1.1"]


def test_a_bad_allow_list_stops_the_server_at_start_up() -> None:
    with pytest.raises(ValueError):
        Destinations.from_setting("10.0.0.0/33")


secrets = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=6, max_size=20)


@given(secrets, secrets, secrets)
def test_a_redacted_url_keeps_scheme_host_port_and_path_and_drops_credentials_query_and_fragment(
    user: str, password: str, token: str
) -> None:
    url = f"https://{user}:{password}@hooks.example.com:8443/in/allot?token={token}#{token}"
    shown = redact(url)
    assert shown == "https://hooks.example.com:8443/in/allot"
    assert user not in shown and password not in shown and token not in shown
    assert redact(f"http://[::1]:9/x?{token}") == "http://[::1]:9/x"
