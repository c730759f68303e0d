#include "api/cli/http_client.hpp"

#include <cstdlib>
#include <fstream>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace millrace::api {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;

api_endpoint find_endpoint(std::vector<std::string>& args, const options& opts) {
  api_endpoint ep;
  ep.host = opts.api_bind == "0.0.0.0" || opts.api_bind == "::" ? "127.0.0.1" : opts.api_bind;
  ep.port = std::to_string(opts.api_port > 0 ? opts.api_port : 8000);
  std::string url, token, workspace;
  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size(); ++i) {
    auto take = [&](const std::string& flag, std::string& out) {
      if (args[i] == flag) {
        if (i + 1 >= args.size())
          throw config_error(flag + " needs a value");
        out = args[++i];
        return true;
      }
      if (args[i].rfind(flag + "=", 0) == 0) {
        out = args[i].substr(flag.size() + 1);
        return true;
      }
      return false;
    };
    if (!take("--url", url) && !take("--token", token) && !take("--workspace", workspace))
      rest.push_back(args[i]);
  }
  args = std::move(rest);
  if (url.empty())
    if (auto* e = std::getenv("MILLRACE_URL"))
      url = e;
  if (!url.empty()) {
    const std::string scheme = "http://";
    if (url.rfind(scheme, 0) != 0)
      throw config_error("--url: expected http://HOST:PORT, got '" + url + "'");
    auto hostport = url.substr(scheme.size());
    hostport = hostport.substr(0, hostport.find('/'));
    auto colon = hostport.rfind(':');
    ep.host = hostport.substr(0, colon);
    ep.port = colon == std::string::npos ? "80" : hostport.substr(colon + 1);
  }
  if (token.empty())
    if (auto* e = std::getenv("MILLRACE_TOKEN"))
      token = e;
  // The admin token file belongs to the local server of this config: it is
  // never sent to a server named by --url or MILLRACE_URL.
  if (token.empty() && url.empty() && !opts.admin_token_file.empty()) {
    std::ifstream in{opts.admin_token_file};
    std::getline(in, token);
  }
  ep.token = token;
  if (workspace.empty())
    if (auto* e = std::getenv("MILLRACE_WORKSPACE"))
      workspace = e;
  if (!workspace.empty())
    ep.workspace = workspace;
  return ep;
}

http_reply http_call(const api_endpoint& ep, const std::string& method, const std::string& target,
                     const std::string& body, std::chrono::milliseconds timeout) {
  try {
    asio::io_context ioc;
    asio::ip::tcp::resolver resolver{ioc};
    beast::tcp_stream stream{ioc};
    stream.expires_after(timeout);
    stream.connect(resolver.resolve(ep.host, ep.port));
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, ep.host);
    req.set(http::field::user_agent, "millrace-cli");
    if (!ep.token.empty())
      req.set(http::field::authorization, "Bearer " + ep.token);
    if (!body.empty() || method == "POST") {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
      req.prepare_payload();
    }
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1ull << 30);
    http::read(stream, buffer, parser);
    auto& res = parser.get();
    http_reply out;
    out.status = static_cast<int>(res.result_int());
    out.body = res.body();
    for (auto& f : res)
      out.headers.emplace_back(std::string{f.name_string()}, std::string{f.value()});
    beast::error_code ec;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    return out;
  } catch (const std::exception& e) {
    throw http_error("cannot reach the millrace API at http://" + ep.host + ":" + ep.port + " ("
                     + e.what() + ")");
  }
}

bool server_answers(const api_endpoint& ep, std::chrono::milliseconds timeout) {
  try {
    auto probe = ep;
    probe.token.clear(); // whoever listens there gets no credentials
    return http_call(probe, "GET", "/api/version", {}, timeout).status == 200;
  } catch (const http_error&) {
    return false;
  }
}

std::string url_encode(const std::string& s, bool keep_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~'
        || (keep_slash && ch == '/'))
      out += static_cast<char>(ch);
    else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

} // namespace millrace::api
