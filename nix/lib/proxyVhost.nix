# An nginx virtual host with Let's Encrypt (ACME HTTP-01) and forced HTTPS, proxying to a local port.
# Pure (no nixpkgs), so tests can evaluate it.
{
  port,
  websockets ? false,
  maxBodySizeMb ? null,
  scheme ? "http",
}:
{
  enableACME = true;
  forceSSL = true;
  locations."/" = {
    proxyPass = "${scheme}://127.0.0.1:${toString port}";
    proxyWebsockets = websockets;
  };
  extraConfig =
    if maxBodySizeMb == null then "" else "client_max_body_size ${toString maxBodySizeMb}m;\n";
}
