#include "tests/integration/api/api_fixture.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <future>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "actors/flow/flow_engine.hpp"
#include "actors/protocol/types/job.hpp"
#include "api/cli/tokens.hpp"
#include "api/service/api_actor.hpp"
#include "storage/pg/connection.hpp"

namespace millrace::test {

api_server::api_server(std::chrono::seconds max_wait, size_t flow_slots) {
  auto listening = std::make_shared<std::promise<uint16_t>>();
  auto fut = listening->get_future();
  api::service_config sc;
  sc.port = 0;
  sc.max_wait = max_wait;
  sc.page_max = 50;
  sc.page_default = 20;
  sc.served_tags = {"bash", "python3", "noop", "net", actors::job_kind::flow_tag};
  sc.network_tags = {"net"};
  sc.on_listening = [listening](uint16_t p) {
    try {
      listening->set_value(p);
    } catch (...) { // a restarted api actor calls it again
    }
  };
  job_tree_options o;
  o.slots = 2;
  // The flow engine serves the "flow" tag (flow runs); its slots only wait
  // on their steps, which run on the worker slots above.
  actors::flow_engine_config fc;
  fc.slots = flow_slots;
  o.extra.push_back(actors::flow_engine_spec(fc));
  o.extra_slots = initial_flow_slots(fc);
  o.extra.push_back(api::api_spec(sc));
  tree = std::make_unique<job_tree>(o);
  if (fut.wait_for(std::chrono::seconds{30}) != std::future_status::ready)
    throw std::runtime_error("the api did not start listening");
  port = fut.get();
  storage::pg::connection c{storage::pg::connect_options{tree->conninfo()}};
  c.exec("INSERT INTO workspace (id, name) VALUES ('ws-a', 'A'), ('ws-b', 'B')");
  admin_token = api::issue_token(c, "admin", "", "test admin", 0, "test").token;
  user_token = api::issue_token(c, "user", "ws-a", "user a", 0, "test").token;
  user_b_token = api::issue_token(c, "user", "ws-b", "user b", 0, "test").token;
}

api::api_endpoint api_server::as(const std::string& token, const std::string& ws) const {
  api::api_endpoint ep;
  ep.host = "127.0.0.1";
  ep.port = std::to_string(port);
  ep.token = token;
  ep.workspace = ws;
  return ep;
}

api::http_reply api_server::call(const std::string& token, const std::string& method,
                                 const std::string& target, const std::string& body) const {
  return api::http_call(as(token), method, target, body, std::chrono::seconds{60});
}

std::string api_server::raw(const std::string& bytes) const {
  namespace asio = boost::asio;
  asio::io_context ioc;
  asio::ip::tcp::socket sock{ioc};
  sock.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(sock, asio::buffer(bytes));
  sock.shutdown(asio::ip::tcp::socket::shutdown_send);
  std::string out;
  boost::system::error_code ec;
  char buf[4096];
  for (;;) {
    auto n = sock.read_some(asio::buffer(buf), ec);
    if (ec)
      break;
    out.append(buf, n);
  }
  return out;
}

storage::result_set api_server::sql(const std::string& q,
                                    const std::vector<storage::sql_value>& p) const {
  storage::pg::connection c{storage::pg::connect_options{tree->conninfo()}};
  return c.query(q, p);
}

rapidjson::Document json_of(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str(), body.size());
  EXPECT_FALSE(d.HasParseError()) << "not JSON: " << body;
  return d;
}

std::string push_script(const api_server& s, const std::string& token, const std::string& ws,
                        const std::string& path, const std::string& language,
                        const std::string& content) {
  rapidjson::Document d;
  d.SetObject();
  auto& a = d.GetAllocator();
  d.AddMember("path", rapidjson::Value{path.c_str(), a}, a);
  d.AddMember("language", rapidjson::Value{language.c_str(), a}, a);
  d.AddMember("content", rapidjson::Value{content.c_str(), a}, a);
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w{sb};
  d.Accept(w);
  auto r = s.call(token, "POST", "/api/w/" + ws + "/scripts/create", sb.GetString());
  EXPECT_EQ(r.status, 201) << r.body;
  auto j = json_of(r.body);
  return j.IsObject() && j.HasMember("hash") ? j["hash"].GetString() : "";
}

std::string header_of(const api::http_reply& r, const std::string& name) {
  for (auto& [k, v] : r.headers) {
    if (k.size() != name.size())
      continue;
    bool same = true;
    for (size_t i = 0; i < k.size(); ++i)
      same = same && std::tolower(static_cast<unsigned char>(k[i]))
                       == std::tolower(static_cast<unsigned char>(name[i]));
    if (same)
      return v;
  }
  return {};
}

} // namespace millrace::test
