#include "actors/cluster/proof.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace millrace::actors::cluster {

namespace {

std::string hex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 15]);
  }
  return out;
}

constexpr size_t min_secret = 16;

} // namespace

std::string make_challenge() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1)
    throw std::runtime_error("RAND_bytes failed: no randomness for a join challenge");
  return hex(bytes, sizeof(bytes));
}

std::string join_proof(const std::string& secret, const std::string& challenge,
                       const std::string& node, int32_t protocol) {
  auto text = challenge + "\n" + node + "\n" + std::to_string(protocol);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &len);
  return hex(mac, len);
}

bool same_proof(const std::string& a, const std::string& b) {
  return a.size() == b.size() && !a.empty() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string read_secret(const std::string& path) {
  std::string secret;
  std::string from;
  if (!path.empty()) {
    struct stat sb{};
    if (::stat(path.c_str(), &sb) != 0)
      throw std::runtime_error("cluster.secret_file: cannot read " + path);
    if ((sb.st_mode & 077) != 0)
      throw std::runtime_error("cluster.secret_file: " + path
                               + " is readable by other users; chmod 600 it");
    std::ifstream in{path, std::ios::binary};
    std::stringstream ss;
    ss << in.rdbuf();
    if (!in.good() && !in.eof())
      throw std::runtime_error("cluster.secret_file: cannot read " + path);
    secret = ss.str();
    from = "cluster.secret_file " + path;
  } else if (const char* env = std::getenv("MILLRACE_CLUSTER_SECRET"); env != nullptr) {
    secret = env;
    from = "MILLRACE_CLUSTER_SECRET";
  } else {
    throw std::runtime_error("no cluster secret: set cluster.secret_file (a file only this user "
                             "can read) or the environment variable MILLRACE_CLUSTER_SECRET");
  }
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r' || secret.back() == ' '
                             || secret.back() == '\t'))
    secret.pop_back();
  if (secret.size() < min_secret)
    throw std::runtime_error("the cluster secret from " + from + " is too short (at least "
                             + std::to_string(min_secret) + " bytes; try `openssl rand -hex 32`)");
  return secret;
}

} // namespace millrace::actors::cluster
