#include "support/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace recs::testing {

HttpClient::~HttpClient() {
    if (fd_ >= 0) ::close(fd_);
}

void HttpClient::Connect() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{timeout_ms_ / 1000, (timeout_ms_ % 1000) * 1000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        int err = errno;
        ::close(fd_);
        fd_ = -1;
        throw std::runtime_error(std::string("connect failed: ") + std::strerror(err));
    }
    buffer_.clear();
}

HttpResponse HttpClient::Send(const std::string& method,
                              const std::string& path,
                              const std::string& body,
                              const std::vector<std::pair<std::string, std::string>>& headers,
                              bool keep_alive) {
    std::string raw = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\n";
    bool has_ct = false;
    for (const auto& [k, v] : headers) {
        raw += k + ": " + v + "\r\n";
        if (strcasecmp(k.c_str(), "content-type") == 0) has_ct = true;
    }
    if (!body.empty() && !has_ct) raw += "Content-Type: application/json\r\n";
    if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT")
        raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    if (!keep_alive) raw += "Connection: close\r\n";
    raw += "\r\n" + body;
    return SendRaw(raw);
}

HttpResponse HttpClient::SendRaw(const std::string& raw) {
    if (fd_ < 0) Connect();
    size_t sent = 0;
    while (sent < raw.size()) {
        ssize_t n = ::send(fd_, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;  // the server may answer (413) before reading everything
        sent += static_cast<size_t>(n);
    }
    return Read();
}

HttpResponse HttpClient::Read() {
    HttpResponse r;
    auto fill = [&]() {
        char buf[65536];
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) return false;
        buffer_.append(buf, static_cast<size_t>(n));
        return true;
    };
    size_t hdr_end;
    while ((hdr_end = buffer_.find("\r\n\r\n")) == std::string::npos)
        if (!fill()) throw std::runtime_error("no response (closed or timed out)");
    std::string head = buffer_.substr(0, hdr_end);
    buffer_.erase(0, hdr_end + 4);
    size_t line_end = head.find("\r\n");
    std::string status_line = head.substr(0, line_end);
    r.status = std::atoi(status_line.substr(9, 3).c_str());
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
        size_t e = head.find("\r\n", pos);
        if (e == std::string::npos) e = head.size();
        std::string line = head.substr(pos, e - pos);
        auto colon = line.find(':');
        if (colon != std::string::npos) {
            std::string k = line.substr(0, colon);
            for (auto& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            std::string v = line.substr(colon + 1);
            while (!v.empty() && v.front() == ' ') v.erase(0, 1);
            r.headers[k] = v;
        }
        pos = e + 2;
    }
    size_t len = static_cast<size_t>(std::atol(r.Header("content-length").c_str()));
    while (buffer_.size() < len)
        if (!fill()) break;
    r.body = buffer_.substr(0, len);
    buffer_.erase(0, std::min(len, buffer_.size()));
    std::string conn = r.Header("connection");
    for (auto& c : conn) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (conn == "close") {
        ::close(fd_);
        fd_ = -1;
    }
    return r;
}

HttpResponse Http(int port,
                  const std::string& method,
                  const std::string& path,
                  const std::string& body,
                  const std::vector<std::pair<std::string, std::string>>& headers) {
    HttpClient c(port);
    return c.Send(method, path, body, headers);
}

}  // namespace recs::testing
