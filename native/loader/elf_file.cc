#include "loader/elf_file.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace te::loader {
namespace {

// The file is mapped, not read: libtorch_cpu.so is hundreds of MB and only its headers and
// dynamic symbol table are touched.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("cannot open '" + path + "': " + std::strerror(errno));
    struct stat info {};
    if (fstat(fd, &info) != 0 || info.st_size < static_cast<off_t>(sizeof(Elf64_Ehdr))) {
      close(fd);
      throw std::runtime_error("'" + path + "' is too short to be a shared object");
    }
    size_ = static_cast<size_t>(info.st_size);
    data_ = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (data_ == MAP_FAILED) throw std::runtime_error("cannot map '" + path + "'");
  }
  ~MappedFile() { munmap(data_, size_); }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // A pointer to `count` objects of T at `offset`, or nullptr when they would pass the end.
  template <typename T>
  const T* At(uint64_t offset, uint64_t count = 1) const {
    if (offset > size_ || count > (size_ - offset) / sizeof(T)) return nullptr;
    return reinterpret_cast<const T*>(static_cast<const char*>(data_) + offset);
  }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

// The section table of an ELF64 file, checked.
const Elf64_Shdr* Sections(const MappedFile& file, const std::string& path, uint16_t* count) {
  const auto* header = file.At<Elf64_Ehdr>(0);
  if (std::memcmp(header->e_ident, ELFMAG, SELFMAG) != 0 ||
      header->e_ident[EI_CLASS] != ELFCLASS64) {
    throw std::runtime_error("'" + path + "' is not an ELF64 shared object");
  }
  const auto* sections = file.At<Elf64_Shdr>(header->e_shoff, header->e_shnum);
  if (sections == nullptr) throw std::runtime_error("'" + path + "' has a truncated section table");
  *count = header->e_shnum;
  return sections;
}

}  // namespace

DynamicInfo ReadDynamicInfo(const std::string& path) {
  MappedFile file(path);
  uint16_t section_count = 0;
  const Elf64_Shdr* sections = Sections(file, path, &section_count);
  DynamicInfo info;
  for (uint16_t i = 0; i < section_count; ++i) {
    if (sections[i].sh_type != SHT_DYNAMIC || sections[i].sh_link >= section_count) continue;
    const Elf64_Shdr& strings = sections[sections[i].sh_link];
    const auto* entries =
        file.At<Elf64_Dyn>(sections[i].sh_offset, sections[i].sh_size / sizeof(Elf64_Dyn));
    const char* names = file.At<char>(strings.sh_offset, strings.sh_size);
    if (entries == nullptr || names == nullptr) {
      throw std::runtime_error("'" + path + "' has a truncated dynamic section");
    }
    for (uint64_t e = 0; e < sections[i].sh_size / sizeof(Elf64_Dyn); ++e) {
      if (entries[e].d_tag == DT_NULL) break;
      const bool wanted = entries[e].d_tag == DT_NEEDED || entries[e].d_tag == DT_SONAME;
      if (!wanted || entries[e].d_un.d_val >= strings.sh_size) continue;
      const char* name = names + entries[e].d_un.d_val;
      std::string value(name, strnlen(name, strings.sh_size - entries[e].d_un.d_val));
      if (entries[e].d_tag == DT_SONAME) {
        info.soname = std::move(value);
      } else {
        info.needed.push_back(std::move(value));
      }
    }
  }
  return info;
}

bool ExportsSymbol(const std::string& path, const std::string& symbol) {
  MappedFile file(path);
  uint16_t section_count = 0;
  const Elf64_Shdr* sections = Sections(file, path, &section_count);
  const uint16_t header_count = section_count;
  for (uint16_t i = 0; i < header_count; ++i) {
    if (sections[i].sh_type != SHT_DYNSYM || sections[i].sh_link >= header_count) continue;
    const Elf64_Shdr& strings = sections[sections[i].sh_link];
    const uint64_t count =
        sections[i].sh_entsize ? sections[i].sh_size / sections[i].sh_entsize : 0;
    const auto* symbols = file.At<Elf64_Sym>(sections[i].sh_offset, count);
    const char* names = file.At<char>(strings.sh_offset, strings.sh_size);
    if (symbols == nullptr || names == nullptr) {
      throw std::runtime_error("'" + path + "' has a truncated dynamic symbol table");
    }
    for (uint64_t s = 0; s < count; ++s) {
      if (symbols[s].st_shndx == SHN_UNDEF || symbols[s].st_name >= strings.sh_size) continue;
      if (std::strncmp(names + symbols[s].st_name, symbol.c_str(),
                       strings.sh_size - symbols[s].st_name) == 0) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace te::loader
