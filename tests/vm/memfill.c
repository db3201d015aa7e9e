/*
 * memfill: hold anonymous memory of a chosen kind, for the VM fixtures.
 *
 *   memfill random|text|zero MIB READY-FILE
 *
 * Maps MIB MiB of private anonymous memory, writes every byte of it, creates
 * READY-FILE, then sleeps until killed (the guest crashes with the memory
 * still held, so the vmcore has it).
 *   random  incompressible pseudo-random bytes (xorshift64*)
 *   text    numbered lines of text: non-zero, compresses well
 *   zero    zeros, written explicitly, so each page is a real page full of
 *           zeros (not the shared zero page a read fault would map)
 *
 * Built with musl-gcc -static by tests/vm/make-fixture.sh.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void fill_random(unsigned char *p, size_t len)
{
	uint64_t x = 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid() << 32;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		uint64_t v = x * 0x2545F4914F6CDD1Dull;
		memcpy(p + i, &v, 8);
	}
}

static void fill_text(unsigned char *p, size_t len)
{
	static const char *words[] = {
		"kdump", "vmcore", "page", "frame", "kernel", "crash", "memory",
		"dump", "filter", "zone", "slab", "cache", "anon", "free",
	};
	char line[160];
	size_t off = 0, n = 0;

	while (off < len) {
		int k = snprintf(line, sizeof line,
				 "%010zu %s %s %s: the quick brown fox jumps over the lazy dog\n",
				 n, words[n % 14], words[(n / 14) % 14], words[(n / 196) % 14]);
		size_t m = (size_t)k;
		if (m > len - off)
			m = len - off;
		memcpy(p + off, line, m);
		off += m;
		n++;
	}
}

int main(int argc, char **argv)
{
	unsigned char *p;
	size_t len;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: memfill random|text|zero MIB READY-FILE\n");
		return 2;
	}
	len = (size_t)strtoull(argv[2], NULL, 10) << 20;
	if (len == 0) {
		fprintf(stderr, "memfill: size must be at least 1 MiB\n");
		return 2;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("memfill: mmap");
		return 1;
	}
	if (strcmp(argv[1], "random") == 0) {
		fill_random(p, len);
	} else if (strcmp(argv[1], "text") == 0) {
		fill_text(p, len);
	} else if (strcmp(argv[1], "zero") == 0) {
		volatile unsigned char *v = p;
		size_t i;
		for (i = 0; i < len; i += 64)
			v[i] = 0;
		memset(p, 0, len);
	} else {
		fprintf(stderr, "memfill: unknown kind %s\n", argv[1]);
		return 2;
	}
	fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror("memfill: ready file");
		return 1;
	}
	close(fd);
	for (;;)
		pause();
}
