/*
 * The CSR job's work: a PKCS#10 certification request (RFC 2986) signed by the slot's key with
 * sha256WithRSAEncryption, built by Mbed TLS's mbedtls_x509write_csr. The subject and an optional
 * subjectAltName extension request (RFC 5280 4.2.1.6) are set up in the command loop when the job is
 * created, so a subject Mbed TLS cannot parse is refused at once; the task signs and writes the DER.
 * The SAN extension value is encoded here with the ASN.1 writer (both Mbed TLS 2.28 and 3.x have
 * it; mbedtls_x509write_csr_set_subject_alternative_name exists only from 3.x).
 */
#include <string.h>

#include "mbedtls/asn1write.h"
#include "mbedtls/oid.h"
#include "slot_job_internal.h"

/* mbedtls_x509write_csr_set_extension: 3.x adds the `critical` argument. */
static int set_extension(mbedtls_x509write_csr *csr, const char *oid, size_t oid_len, const unsigned char *val,
                         size_t val_len)
{
#if RSAGEN_MBEDTLS_3
    return mbedtls_x509write_csr_set_extension(csr, oid, oid_len, 0, val, val_len);
#else
    return mbedtls_x509write_csr_set_extension(csr, oid, oid_len, val, val_len);
#endif
}

static bool san_ok(const slot_san_t *s)
{
    if (s->type == 7) return s->len == 4 || s->len == 16;
    if (s->type != 1 && s->type != 2 && s->type != 6) return false;
    if (s->len == 0) return false;
    for (size_t i = 0; i < s->len; i++) {
        if (s->value[i] < 0x21 || s->value[i] > 0x7E) return false; /* IA5String, no spaces or controls */
    }
    return true;
}

/* GeneralNames ::= SEQUENCE OF GeneralName, each an IMPLICIT [type] primitive. Written backwards
 * at the end of buf (Mbed TLS's ASN.1 writer). Returns the length, or < 0. */
static int write_sans(const slot_san_t *sans, unsigned n, unsigned char *buf, size_t cap, unsigned char **start)
{
    unsigned char *p = buf + cap;
    size_t len = 0;
    int r;
    for (unsigned i = n; i-- > 0;) {
        const slot_san_t *s = &sans[i];
        size_t one = 0;
        if ((r = mbedtls_asn1_write_raw_buffer(&p, buf, s->value, s->len)) < 0) return r;
        one += (size_t)r;
        if ((r = mbedtls_asn1_write_len(&p, buf, one)) < 0) return r;
        one += (size_t)r;
        if ((r = mbedtls_asn1_write_tag(&p, buf, (unsigned char)(MBEDTLS_ASN1_CONTEXT_SPECIFIC | s->type))) < 0) {
            return r;
        }
        len += one + (size_t)r;
    }
    if ((r = mbedtls_asn1_write_len(&p, buf, len)) < 0) return r;
    len += (size_t)r;
    if ((r = mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) < 0) return r;
    len += (size_t)r;
    *start = p;
    return (int)len;
}

slot_job_status_t rsagen_csr_job_setup(slot_job_t *job, const slot_job_request_t *req)
{
    if (req->subject_len == 0 || req->subject_len > SLOT_JOB_MAX_SUBJECT || req->san_count > SLOT_JOB_MAX_SANS) {
        return SLOTJOB_E_ARGS;
    }
    for (unsigned i = 0; i < req->san_count; i++) {
        if (!san_ok(&req->sans[i])) return SLOTJOB_E_ARGS;
    }
    mbedtls_x509write_csr_init(&job->csr);
    job->csr_ready = true;
    mbedtls_x509write_csr_set_md_alg(&job->csr, MBEDTLS_MD_SHA256);
    mbedtls_x509write_csr_set_key(&job->csr, &job->pk); /* parsed by the task before it signs */

    /* The output buffer is free until the task writes the CSR: the NUL-terminated subject and the
     * SAN value are staged there (Mbed TLS copies both). */
    memcpy(job->out, req->subject, req->subject_len);
    job->out[req->subject_len] = '\0';
    int ret = mbedtls_x509write_csr_set_subject_name(&job->csr, (const char *)job->out);
    slot_job_status_t st = SLOTJOB_OK;
    if (ret == MBEDTLS_ERR_X509_ALLOC_FAILED) st = SLOTJOB_E_NO_MEM;
    else if (ret != 0) st = SLOTJOB_E_SUBJECT;
    if (st == SLOTJOB_OK && req->san_count > 0) {
        unsigned char *der = NULL;
        int n = write_sans(req->sans, req->san_count, job->out, job->out_cap, &der);
        if (n < 0) st = SLOTJOB_E_ARGS;
        else if (set_extension(&job->csr, MBEDTLS_OID_SUBJECT_ALT_NAME, MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME),
                               der, (size_t)n) != 0) {
            st = SLOTJOB_E_NO_MEM;
        }
    }
    memset(job->out, 0, job->out_cap);
    return st;
}

int rsagen_csr_job_run(slot_job_t *job)
{
    int n = mbedtls_x509write_csr_der(&job->csr, job->out, job->out_cap, rsagen_slot_job_rng, job);
    if (n <= 0) return n < 0 ? n : MBEDTLS_ERR_X509_BAD_INPUT_DATA;
    memmove(job->out, job->out + job->out_cap - (size_t)n, (size_t)n); /* written at the buffer's end */
    memset(job->out + n, 0, job->out_cap - (size_t)n);
    job->out_len = (size_t)n;
    return 0;
}

void rsagen_csr_job_free(slot_job_t *job)
{
    if (!job->csr_ready) return;
    mbedtls_x509write_csr_free(&job->csr);
    job->csr_ready = false;
}
