#pragma once

#include <map>
#include <string>
#include <vector>

namespace recs::testing {

/// A response read by the test client (header names lower-case).
struct HttpResponse {
    int status = 0;
    std::map<std::string, std::string> headers;
    std::string body;
    std::string Header(const std::string& lower) const {
        auto it = headers.find(lower);
        return it == headers.end() ? "" : it->second;
    }
};

/// A minimal blocking HTTP/1.1 client over loopback, for tests. One connection per client;
/// `keep_alive` false sends "Connection: close".
class HttpClient {
public:
    /// timeout_ms bounds each wait for the server (a hang becomes an exception).
    explicit HttpClient(int port, int timeout_ms = 60000) : port_(port), timeout_ms_(timeout_ms) {}
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    HttpResponse Send(const std::string& method,
                      const std::string& path,
                      const std::string& body = "",
                      const std::vector<std::pair<std::string, std::string>>& headers = {},
                      bool keep_alive = false);
    /// Sends raw bytes and reads one response.
    HttpResponse SendRaw(const std::string& raw);
    /// True when the server closed the connection after the last response.
    bool closed() const { return fd_ < 0; }
    /// The socket of the current connection (-1 when none); stable across keep-alive requests.
    int fd() const { return fd_; }

private:
    void Connect();
    HttpResponse Read();
    int port_;
    int timeout_ms_;
    int fd_ = -1;
    std::string buffer_;
};

/// One request on a fresh connection.
HttpResponse Http(int port,
                  const std::string& method,
                  const std::string& path,
                  const std::string& body = "",
                  const std::vector<std::pair<std::string, std::string>>& headers = {});

}  // namespace recs::testing
