#include "test/testing/loopback_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "queries/base/strings.h"

namespace ma::testing {
namespace {

constexpr std::string_view kHeadEnd = "\r\n\r\n";

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Appends what the peer sends next; false once the peer closed or the read failed.
bool ReadSome(int fd, std::string& buffer) {
  char chunk[4096];
  const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
  if (n <= 0) {
    return false;
  }
  buffer.append(chunk, static_cast<size_t>(n));
  return true;
}

std::string HeaderValue(std::string_view head, std::string_view name) {
  for (absl::string_view line : absl::StrSplit(ToAbsl(head), "\r\n")) {
    if (line.size() > name.size() && line[name.size()] == ':' &&
        absl::StartsWithIgnoreCase(line, ToAbsl(name))) {
      return std::string(absl::StripAsciiWhitespace(line.substr(name.size() + 1)));
    }
  }
  return "";
}

}  // namespace

std::string LoopbackRequest::RequestLine() const { return head.substr(0, head.find("\r\n")); }

std::string LoopbackRequest::Target() const {
  const std::vector<std::string> parts = absl::StrSplit(RequestLine(), ' ');
  return parts.size() > 1 ? parts[1] : "";
}

std::string LoopbackRequest::Header(std::string_view name) const { return HeaderValue(head, name); }

std::string LoopbackRequest::Raw() const { return Cat(head, kHeadEnd, body); }

std::string HttpResponseBytes(int code, std::string_view body, std::string_view content_type,
                              std::string_view extra_headers) {
  return Cat("HTTP/1.1 ", code, " X\r\nContent-Type: ", content_type,
             "\r\nContent-Length: ", body.size(), "\r\n", extra_headers, "\r\n", body);
}

LoopbackHttpServer::LoopbackHttpServer(LoopbackHandler handler) : handler_(std::move(handler)) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listen_fd_, 64) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ADD_FAILURE() << "cannot listen on 127.0.0.1:0";
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

LoopbackHttpServer::~LoopbackHttpServer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (const int fd : open_fds_) {
      shutdown(fd, SHUT_RDWR);
    }
  }
  shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  // The acceptor has stopped: nothing adds threads any more.
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    threads.swap(connection_threads_);
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  close(listen_fd_);
}

std::string LoopbackHttpServer::Url(std::string_view path) const {
  return Cat("http://127.0.0.1:", port_, path);
}

std::vector<LoopbackRequest> LoopbackHttpServer::requests() const {
  absl::MutexLock lock(&mu_);
  return requests_;
}

int LoopbackHttpServer::connections_accepted() const {
  absl::MutexLock lock(&mu_);
  return connections_accepted_;
}

void LoopbackHttpServer::AcceptLoop() {
  while (true) {
    const int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) {
      return;
    }
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      close(fd);
      return;
    }
    ++connections_accepted_;
    open_fds_.push_back(fd);
    connection_threads_.emplace_back([this, fd] { Serve(fd); });
  }
}

void LoopbackHttpServer::Close(int fd) {
  absl::MutexLock lock(&mu_);
  std::erase(open_fds_, fd);
  close(fd);
}

void LoopbackHttpServer::Serve(int fd) {
  std::string buffer;
  while (true) {
    size_t head_end;
    while ((head_end = buffer.find(kHeadEnd)) == std::string::npos) {
      if (!ReadSome(fd, buffer)) {
        Close(fd);
        return;
      }
    }
    LoopbackRequest request;
    request.head = buffer.substr(0, head_end);
    size_t content_length = 0;
    if (const std::string value = HeaderValue(request.head, "Content-Length"); !value.empty()) {
      (void)absl::SimpleAtoi(value, &content_length);
    }
    const size_t body_start = head_end + kHeadEnd.size();
    while (buffer.size() < body_start + content_length) {
      if (!ReadSome(fd, buffer)) {
        Close(fd);
        return;
      }
    }
    request.body = buffer.substr(body_start, content_length);
    buffer.erase(0, body_start + content_length);
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(request);
    }

    const std::optional<std::string> reply = handler_(request);
    if (!reply.has_value()) {
      // Never answers: waits for the client (or the server's destructor) to close.
      while (ReadSome(fd, buffer)) {
      }
      Close(fd);
      return;
    }
    if (!WriteAll(fd, *reply)) {
      Close(fd);
      return;
    }
    const std::string_view reply_head = std::string_view(*reply).substr(0, reply->find(kHeadEnd));
    if (absl::EqualsIgnoreCase(HeaderValue(reply_head, "Connection"), "close")) {
      // Lets the client read to the end before the socket goes away.
      shutdown(fd, SHUT_WR);
      while (ReadSome(fd, buffer)) {
      }
      Close(fd);
      return;
    }
  }
}

}  // namespace ma::testing
