// The main entry of avatar-cache: the generated bindings, with the WebAssembly module loaded
// on first use. `AvatarCache.open()` waits for it; nothing else needs to.
function picture(userId, imageId, url, source, stale, loadMs, thumbhash, render) {
  if (thumbhash === undefined) return { userId, imageId: imageId ?? null, url, source, stale, loadMs };
  return {
    userId, imageId: imageId ?? null, url, source, stale, loadMs,
    get placeholder() {
      const value = render(thumbhash);
      Object.defineProperty(this, 'placeholder', { value, configurable: true, enumerable: true, writable: true });
      return value;
    },
    set placeholder(value) {
      Object.defineProperty(this, 'placeholder', { value, configurable: true, enumerable: true, writable: true });
    },
  };
}
function devtoolsRoot(version) {
  const existing = globalThis.__AVATAR_CACHE__;
  if (existing && typeof existing === 'object' && existing.caches && typeof existing.caches === 'object') return existing;
  const caches = {};
  const dispatch = (method) => (namespace) => {
    const names = Object.keys(caches);
    if (namespace !== undefined) return caches[namespace] ? caches[namespace][method]() : undefined;
    if (names.length === 1) return caches[names[0]][method]();
    return Object.fromEntries(names.map((n) => [n, caches[n][method]()]));
  };
  const root = { caches, version, stats: dispatch('stats'), diagnose: dispatch('diagnose') };
  globalThis.__AVATAR_CACHE__ = root;
  return root;
}
function measureGet(performance, name, userId, stale, ms) {
  const end = performance.now();
  const queue = (measureGet.queue ??= []);
  if (queue.push([name, end - ms, end, userId, stale]) > 1) return;
  setTimeout(() => {
    for (const [name, start, end, userId, stale] of queue.splice(0)) {
      try {
        performance.measure(name, { start, end, detail: { userId, stale } });
      } catch {}
    }
  });
}


export class AvatarCache {
    static __wrap(ptr) {
        const obj = Object.create(AvatarCache.prototype);
        obj.__wbg_ptr = ptr;
        AvatarCacheFinalization.register(obj, obj.__wbg_ptr, obj);
        return obj;
    }
    __destroy_into_raw() {
        const ptr = this.__wbg_ptr;
        this.__wbg_ptr = 0;
        AvatarCacheFinalization.unregister(this);
        return ptr;
    }
    free() {
        const ptr = this.__destroy_into_raw();
        wasm.__wbg_avatarcache_free(ptr, 0);
    }
    clear() {
        const ret = wasm.avatarcache_clear(this.__wbg_ptr);
        return ret;
    }
    close() {
        wasm.avatarcache_close(this.__wbg_ptr);
    }
    diagnose() {
        const ret = wasm.avatarcache_diagnose(this.__wbg_ptr);
        return ret;
    }
    get(userId, imageId) {
        let ptr0, len0, ptr1, len1;
        try {
            ptr0 = passStringToWasm0(userId, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = isLikeNone(imageId) ? 0 : passStringToWasm0(imageId, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.avatarcache_get(this.__wbg_ptr, ptr0, len0, ptr1, len1);
        return ret;
    }
    invalidate(userId) {
        const ptr0 = passStringToWasm0(userId, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        const len0 = WASM_VECTOR_LEN;
        const ret = wasm.avatarcache_invalidate(this.__wbg_ptr, ptr0, len0);
        return ret;
    }
    static open(config) {
        const ret = wasm.avatarcache_open(isLikeNone(config) ? 0 : addToExternrefTable0(config));
        return ret;
    }
    peek(userId) {
        const ptr0 = passStringToWasm0(userId, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        const len0 = WASM_VECTOR_LEN;
        const ret = wasm.avatarcache_peek(this.__wbg_ptr, ptr0, len0);
        return ret;
    }
    placeholder(userId) {
        const ptr0 = passStringToWasm0(userId, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        const len0 = WASM_VECTOR_LEN;
        const ret = wasm.avatarcache_placeholder(this.__wbg_ptr, ptr0, len0);
        return ret;
    }
    prefetch(userIds) {
        const ret = wasm.avatarcache_prefetch(this.__wbg_ptr, userIds);
        return ret;
    }
    setPicture(userId, imageId, image) {
        let ptr0, len0, ptr1, len1;
        try {
            ptr0 = passStringToWasm0(userId, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = isLikeNone(imageId) ? 0 : passStringToWasm0(imageId, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.avatarcache_setPicture(this.__wbg_ptr, ptr0, len0, ptr1, len1, isLikeNone(image) ? 0 : addToExternrefTable0(image));
        return ret;
    }
    stats() {
        const ret = wasm.avatarcache_stats(this.__wbg_ptr);
        return ret;
    }
    subscribe(listener) {
        const ret = wasm.avatarcache_subscribe(this.__wbg_ptr, listener);
        return ret;
    }
}
if (Symbol.dispose) AvatarCache.prototype[Symbol.dispose] = AvatarCache.prototype.free;

export function version() {
    let deferred1_0;
    let deferred1_1;
    try {
        const ret = wasm.version();
        deferred1_0 = ret[0];
        deferred1_1 = ret[1];
        return getStringFromWasm0(ret[0], ret[1]);
    } finally {
        wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
    }
}
function __wbg_get_imports() {
    const import0 = {
        __proto__: null,
        __wbg___wbindgen_boolean_get_4f1baf9a00be3c74: function(arg0) {
            const v = arg0;
            const ret = typeof(v) === 'boolean' ? v : undefined;
            return isLikeNone(ret) ? 0xFFFFFF : ret ? 1 : 0;
        },
        __wbg___wbindgen_is_falsy_d864b623500ae65d: function(arg0) {
            const ret = !arg0;
            return ret;
        },
        __wbg___wbindgen_is_function_741ff2bb612836f5: function(arg0) {
            const ret = typeof(arg0) === 'function';
            return ret;
        },
        __wbg___wbindgen_is_null_c22311b1cc228e3a: function(arg0) {
            const ret = arg0 === null;
            return ret;
        },
        __wbg___wbindgen_is_object_8b968c3ab8e96595: function(arg0) {
            const val = arg0;
            const ret = typeof(val) === 'object' && val !== null;
            return ret;
        },
        __wbg___wbindgen_is_symbol_f846131a047725ea: function(arg0) {
            const ret = typeof(arg0) === 'symbol';
            return ret;
        },
        __wbg___wbindgen_is_undefined_be5b34249ff1fc15: function(arg0) {
            const ret = arg0 === undefined;
            return ret;
        },
        __wbg___wbindgen_jsval_eq_38d7bfbe4cc84039: function(arg0, arg1) {
            const ret = arg0 === arg1;
            return ret;
        },
        __wbg___wbindgen_number_get_934b640d0889af78: function(arg0, arg1) {
            const obj = arg1;
            const ret = typeof(obj) === 'number' ? obj : undefined;
            getDataViewMemory0().setFloat64((arg0 >>> 0) + 8 * 1, isLikeNone(ret) ? 0 : ret, true);
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, !isLikeNone(ret), true);
        },
        __wbg___wbindgen_string_get_7ce8eee7fd327545: function(arg0, arg1) {
            const obj = arg1;
            const ret = typeof(obj) === 'string' ? obj : undefined;
            var ptr1 = isLikeNone(ret) ? 0 : passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            var len1 = WASM_VECTOR_LEN;
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
        },
        __wbg___wbindgen_throw_4c88d8bf264fd984: function(arg0, arg1) {
            throw new Error(getStringFromWasm0(arg0, arg1));
        },
        __wbg__wbg_cb_unref_09736879a3f67559: function(arg0) {
            arg0._wbg_cb_unref();
        },
        __wbg_abort_75a93bc755ef5425: function() { return handleError(function (arg0) {
            arg0.abort();
        }, arguments); },
        __wbg_abort_f8d1589eb0c65ee2: function(arg0) {
            arg0.abort();
        },
        __wbg_arrayBuffer_5abbcb61bd48f427: function(arg0) {
            const ret = arg0.arrayBuffer();
            return ret;
        },
        __wbg_assign_6b6bb30388088072: function(arg0, arg1) {
            const ret = Object.assign(arg0, arg1);
            return ret;
        },
        __wbg_avatarcache_new: function(arg0) {
            const ret = AvatarCache.__wrap(arg0);
            return ret;
        },
        __wbg_body_0da01a9a056907d8: function(arg0) {
            const ret = arg0.body;
            return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
        },
        __wbg_bound_2eafc1bd1cffbb0e: function() { return handleError(function (arg0, arg1) {
            const ret = IDBKeyRange.bound(arg0, arg1);
            return ret;
        }, arguments); },
        __wbg_call_40b008ba32f73991: function() { return handleError(function (arg0, arg1) {
            const ret = arg0.call(arg1);
            return ret;
        }, arguments); },
        __wbg_call_a410eb4b59ed5965: function() { return handleError(function (arg0, arg1, arg2) {
            const ret = arg0.call(arg1, arg2);
            return ret;
        }, arguments); },
        __wbg_call_fc92fee6137d452d: function() { return handleError(function (arg0, arg1, arg2, arg3) {
            const ret = arg0.call(arg1, arg2, arg3);
            return ret;
        }, arguments); },
        __wbg_cancel_b195250778e9d8e7: function(arg0) {
            const ret = arg0.cancel();
            return ret;
        },
        __wbg_clearMeasures_ee60c872d4766cf9: function(arg0, arg1, arg2) {
            arg0.clearMeasures(getStringFromWasm0(arg1, arg2));
        },
        __wbg_clear_507b74bbfa06114d: function() { return handleError(function (arg0) {
            const ret = arg0.clear();
            return ret;
        }, arguments); },
        __wbg_close_70d38255291ae4c8: function(arg0) {
            arg0.close();
        },
        __wbg_close_83412466bf4e34fb: function(arg0) {
            arg0.close();
        },
        __wbg_close_b4ebb04d70c95184: function(arg0) {
            arg0.close();
        },
        __wbg_contains_c7099563ab57a776: function(arg0, arg1, arg2) {
            const ret = arg0.contains(getStringFromWasm0(arg1, arg2));
            return ret;
        },
        __wbg_continue_f3fd6e38b5fffdad: function() { return handleError(function (arg0) {
            arg0.continue();
        }, arguments); },
        __wbg_createIndex_962416446446df35: function() { return handleError(function (arg0, arg1, arg2, arg3, arg4) {
            const ret = arg0.createIndex(getStringFromWasm0(arg1, arg2), getStringFromWasm0(arg3, arg4));
            return ret;
        }, arguments); },
        __wbg_createObjectStore_f7cf854ebb8a2b7f: function() { return handleError(function (arg0, arg1, arg2) {
            const ret = arg0.createObjectStore(getStringFromWasm0(arg1, arg2));
            return ret;
        }, arguments); },
        __wbg_createObjectURL_45693a1454d24dac: function() { return handleError(function (arg0, arg1) {
            const ret = URL.createObjectURL(arg1);
            const ptr1 = passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            const len1 = WASM_VECTOR_LEN;
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
        }, arguments); },
        __wbg_data_bf4b5c8a5fc46441: function(arg0, arg1) {
            const ret = arg1.data;
            const ptr1 = passArray8ToWasm0(ret, wasm.__wbindgen_malloc);
            const len1 = WASM_VECTOR_LEN;
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
        },
        __wbg_data_c7e5e8500f1bca2f: function(arg0) {
            const ret = arg0.data;
            return ret;
        },
        __wbg_debug_66759db6bc3201ed: function(arg0, arg1) {
            console.debug(arg0, arg1);
        },
        __wbg_deleteObjectStore_e6e047655c2a2021: function() { return handleError(function (arg0, arg1, arg2) {
            arg0.deleteObjectStore(getStringFromWasm0(arg1, arg2));
        }, arguments); },
        __wbg_deleteProperty_3ad7a085da623822: function() { return handleError(function (arg0, arg1) {
            const ret = Reflect.deleteProperty(arg0, arg1);
            return ret;
        }, arguments); },
        __wbg_delete_a1677b105dc0626e: function() { return handleError(function (arg0, arg1) {
            const ret = arg0.delete(arg1);
            return ret;
        }, arguments); },
        __wbg_devtoolsRoot_80b94a8c614f5f6e: function() { return handleError(function (arg0, arg1) {
            const ret = devtoolsRoot(getStringFromWasm0(arg0, arg1));
            return ret;
        }, arguments); },
        __wbg_drawImage_c1045f06c16239a5: function() { return handleError(function (arg0, arg1, arg2, arg3, arg4, arg5) {
            arg0.drawImage(arg1, arg2, arg3, arg4, arg5);
        }, arguments); },
        __wbg_entries_7bb1459bd9b5c2b9: function(arg0) {
            const ret = Object.entries(arg0);
            return ret;
        },
        __wbg_error_029b9735617abe23: function() { return handleError(function (arg0) {
            const ret = arg0.error;
            return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
        }, arguments); },
        __wbg_error_37b241daaafbc352: function(arg0) {
            const ret = arg0.error;
            return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
        },
        __wbg_estimate_b2044bb9452e73cd: function() { return handleError(function (arg0) {
            const ret = arg0.estimate();
            return ret;
        }, arguments); },
        __wbg_from_eac91875c8a5ffa4: function(arg0) {
            const ret = Array.from(arg0);
            return ret;
        },
        __wbg_getAllKeys_cc55957bda37fb47: function() { return handleError(function (arg0, arg1, arg2) {
            const ret = arg0.getAllKeys(arg1, arg2 >>> 0);
            return ret;
        }, arguments); },
        __wbg_getAllKeys_f22cbedeec86b411: function() { return handleError(function (arg0) {
            const ret = arg0.getAllKeys();
            return ret;
        }, arguments); },
        __wbg_getAll_0926d7a1f4b74bd5: function() { return handleError(function (arg0, arg1, arg2) {
            const ret = arg0.getAll(arg1, arg2 >>> 0);
            return ret;
        }, arguments); },
        __wbg_getAll_fd2f81391609135a: function() { return handleError(function (arg0) {
            const ret = arg0.getAll();
            return ret;
        }, arguments); },
        __wbg_getContext_1938edb9a972f63d: function() { return handleError(function (arg0, arg1, arg2) {
            const ret = arg0.getContext(getStringFromWasm0(arg1, arg2));
            return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
        }, arguments); },
        __wbg_getImageData_45c2151e5321bb89: function() { return handleError(function (arg0, arg1, arg2, arg3, arg4) {
            const ret = arg0.getImageData(arg1, arg2, arg3, arg4);
            return ret;
        }, arguments); },
        __wbg_getItem_49556a3e59cfb688: function() { return handleError(function (arg0, arg1, arg2, arg3) {
            const ret = arg1.getItem(getStringFromWasm0(arg2, arg3));
            var ptr1 = isLikeNone(ret) ? 0 : passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            var len1 = WASM_VECTOR_LEN;
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
        }, arguments); },
        __wbg_get_2080c49015e35254: function() { return handleError(function (arg0, arg1) {
            const ret = Reflect.get(arg0, arg1);
            return ret;
        }, arguments); },
        __wbg_get_3e7d0feae205d645: function() { return handleError(function (arg0, arg1) {
            const ret = arg0.get(arg1);
            return ret;
        }, arguments); },
        __wbg_get_556f1c9a5c587e8c: function() { return handleError(function (arg0, arg1, arg2, arg3) {
            const ret = arg1.get(getStringFromWasm0(arg2, arg3));
            var ptr1 = isLikeNone(ret) ? 0 : passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            var len1 = WASM_VECTOR_LEN;
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
        }, arguments); },
        __wbg_get_d7176cfb76d71114: function(arg0, arg1) {
            const ret = arg0[arg1 >>> 0];
            return ret;
        },
        __wbg_get_unchecked_e6325ad374eff861: function(arg0, arg1) {
            const ret = arg0[arg1 >>> 0];
            return ret;
        },
        __wbg_headers_5fc0106c076eb731: function(arg0) {
            const ret = arg0.headers;
            return ret;
        },
        __wbg_height_a587c99454238459: function(arg0) {
            const ret = arg0.height;
            return ret;
        },
        __wbg_instanceof_ArrayBuffer_12cdaa4161423e6b: function(arg0) {
            let result;
            try {
                result = arg0 instanceof ArrayBuffer;
            } catch (_) {
                result = false;
            }
            const ret = result;
            return ret;
        },
        __wbg_instanceof_Blob_56431c8f5387c12d: function(arg0) {
            let result;
            try {
                result = arg0 instanceof Blob;
            } catch (_) {
                result = false;
            }
            const ret = result;
            return ret;
        },
        __wbg_instanceof_IdbFactory_c959b1be1ad153de: function(arg0) {
            let result;
            try {
                result = arg0 instanceof IDBFactory;
            } catch (_) {
                result = false;
            }
            const ret = result;
            return ret;
        },
        __wbg_instanceof_IdbVersionChangeEvent_bdb3cb50bcef7aeb: function(arg0) {
            let result;
            try {
                result = arg0 instanceof IDBVersionChangeEvent;
            } catch (_) {
                result = false;
            }
            const ret = result;
            return ret;
        },
        __wbg_instanceof_ImageBitmap_536fdba57df2c6ac: function(arg0) {
            let result;
            try {
                result = arg0 instanceof ImageBitmap;
            } catch (_) {
                result = false;
            }
            const ret = result;
            return ret;
        },
        __wbg_instanceof_Object_97e16a01fd368661: function(arg0) {
            let result;
            try {
                result = arg0 instanceof Object;
            } catch (_) {
                result = false;
            }
            const ret = result;
            return ret;
        },
        __wbg_instanceof_OffscreenCanvasRenderingContext2d_a3c87a6b00a4bf2f: function(arg0) {
            let result;
            try {
                result = arg0 instanceof OffscreenCanvasRenderingContext2D;
            } catch (_) {
                result = false;
            }
            const ret = result;
            return ret;
        },
        __wbg_instanceof_Performance_2b9444a94b6a603f: function(arg0) {
            let result;
            try {
                result = arg0 instanceof Performance;
            } catch (_) {
                result = false;
            }
            const ret = result;
            return ret;
        },
        __wbg_instanceof_Promise_59148c6049d0e3a0: function(arg0) {
            let result;
            try {
                result = arg0 instanceof Promise;
            } catch (_) {
                result = false;
            }
            const ret = result;
            return ret;
        },
        __wbg_instanceof_Response_5b0b4f7f1daeae51: function(arg0) {
            let result;
            try {
                result = arg0 instanceof Response;
            } catch (_) {
                result = false;
            }
            const ret = result;
            return ret;
        },
        __wbg_instanceof_StorageManager_ec97b6c3ff74ba7d: function(arg0) {
            let result;
            try {
                result = arg0 instanceof StorageManager;
            } catch (_) {
                result = false;
            }
            const ret = result;
            return ret;
        },
        __wbg_instanceof_Uint8Array_d7aeb0dcb3108fea: function(arg0) {
            let result;
            try {
                result = arg0 instanceof Uint8Array;
            } catch (_) {
                result = false;
            }
            const ret = result;
            return ret;
        },
        __wbg_instanceof_Window_5cf453f5639aa1a2: function(arg0) {
            let result;
            try {
                result = arg0 instanceof Window;
            } catch (_) {
                result = false;
            }
            const ret = result;
            return ret;
        },
        __wbg_isArray_bcf1376d0d732d08: function(arg0) {
            const ret = Array.isArray(arg0);
            return ret;
        },
        __wbg_isView_7c4f5a7c257b3a84: function(arg0) {
            const ret = ArrayBuffer.isView(arg0);
            return ret;
        },
        __wbg_join_0eb3fa0210561997: function(arg0, arg1, arg2) {
            const ret = arg0.join(getStringFromWasm0(arg1, arg2));
            return ret;
        },
        __wbg_key_63ff854ef83f5a09: function() { return handleError(function (arg0, arg1, arg2) {
            const ret = arg1.key(arg2 >>> 0);
            var ptr1 = isLikeNone(ret) ? 0 : passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            var len1 = WASM_VECTOR_LEN;
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
        }, arguments); },
        __wbg_key_6e6cd11010a229d7: function() { return handleError(function (arg0) {
            const ret = arg0.key;
            return ret;
        }, arguments); },
        __wbg_length_186163212ffe79c3: function(arg0) {
            const ret = arg0.length;
            return ret;
        },
        __wbg_length_b03a0fabb109b1e9: function(arg0) {
            const ret = arg0.length;
            return ret;
        },
        __wbg_length_ea72997cbff8f351: function() { return handleError(function (arg0) {
            const ret = arg0.length;
            return ret;
        }, arguments); },
        __wbg_localStorage_6827cfe6db14a9f6: function() { return handleError(function (arg0) {
            const ret = arg0.localStorage;
            return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
        }, arguments); },
        __wbg_log_ff86bbb34c295e21: function(arg0) {
            console.log(arg0);
        },
        __wbg_measureGet_1d127d10de99edea: function(arg0, arg1, arg2, arg3, arg4, arg5) {
            measureGet(arg0, arg1, getStringFromWasm0(arg2, arg3), arg4 !== 0, arg5);
        },
        __wbg_new_13de428334042d26: function(arg0) {
            const ret = new Uint8Array(arg0);
            return ret;
        },
        __wbg_new_277c27c26f94cbc2: function() { return handleError(function () {
            const ret = new Headers();
            return ret;
        }, arguments); },
        __wbg_new_2bfd0f45e60518b1: function() { return handleError(function (arg0, arg1) {
            const ret = new OffscreenCanvas(arg0 >>> 0, arg1 >>> 0);
            return ret;
        }, arguments); },
        __wbg_new_37eb45aaf5eeb820: function() {
            const ret = new Array();
            return ret;
        },
        __wbg_new_418047748c820cbb: function() { return handleError(function (arg0) {
            const ret = new ReadableStreamDefaultReader(arg0);
            return ret;
        }, arguments); },
        __wbg_new_4416a2fe2fac9c65: function(arg0, arg1) {
            const ret = new TypeError(getStringFromWasm0(arg0, arg1));
            return ret;
        },
        __wbg_new_5f28518387ad0e34: function() { return handleError(function () {
            const ret = new AbortController();
            return ret;
        }, arguments); },
        __wbg_new_787b9fb330d55d78: function(arg0, arg1) {
            const ret = new Error(getStringFromWasm0(arg0, arg1));
            return ret;
        },
        __wbg_new_b00e30ff1da50918: function() { return handleError(function (arg0, arg1) {
            const ret = new BroadcastChannel(getStringFromWasm0(arg0, arg1));
            return ret;
        }, arguments); },
        __wbg_new_ba40181b3f24ac80: function(arg0, arg1) {
            try {
                var state0 = {a: arg0, b: arg1};
                var cb0 = (arg0, arg1) => {
                    const a = state0.a;
                    state0.a = 0;
                    try {
                        return wasm_bindgen_a1114b3a9e2ee149___convert__closures_____invoke___js_sys_742f093dc5627a1b___Function_fn_wasm_bindgen_a1114b3a9e2ee149___JsValue_____wasm_bindgen_a1114b3a9e2ee149___sys__Undefined___js_sys_742f093dc5627a1b___Function_fn_wasm_bindgen_a1114b3a9e2ee149___JsValue_____wasm_bindgen_a1114b3a9e2ee149___sys__Undefined_______true_(a, state0.b, arg0, arg1);
                    } finally {
                        state0.a = a;
                    }
                };
                const ret = new Promise(cb0);
                return ret;
            } finally {
                state0.a = 0;
            }
        },
        __wbg_new_cd4348290afae586: function() {
            const ret = new Object();
            return ret;
        },
        __wbg_new_from_slice_b8daf545a41c6aa0: function(arg0, arg1) {
            const ret = new Uint8Array(getArrayU8FromWasm0(arg0, arg1));
            return ret;
        },
        __wbg_new_typed_e09da9dae6ee5935: function(arg0, arg1) {
            try {
                var state0 = {a: arg0, b: arg1};
                var cb0 = (arg0, arg1) => {
                    const a = state0.a;
                    state0.a = 0;
                    try {
                        return wasm_bindgen_a1114b3a9e2ee149___convert__closures_____invoke___js_sys_742f093dc5627a1b___Function_fn_wasm_bindgen_a1114b3a9e2ee149___JsValue_____wasm_bindgen_a1114b3a9e2ee149___sys__Undefined___js_sys_742f093dc5627a1b___Function_fn_wasm_bindgen_a1114b3a9e2ee149___JsValue_____wasm_bindgen_a1114b3a9e2ee149___sys__Undefined_______true_(a, state0.b, arg0, arg1);
                    } finally {
                        state0.a = a;
                    }
                };
                const ret = new Promise(cb0);
                return ret;
            } finally {
                state0.a = 0;
            }
        },
        __wbg_new_with_buffer_source_sequence_and_options_ea80baf2bc7ac33a: function() { return handleError(function (arg0, arg1) {
            const ret = new Blob(arg0, arg1);
            return ret;
        }, arguments); },
        __wbg_new_with_u8_array_sequence_and_options_ca80bf9b8bbc67cf: function() { return handleError(function (arg0, arg1) {
            const ret = new Blob(arg0, arg1);
            return ret;
        }, arguments); },
        __wbg_now_043d245551b22f9c: function(arg0) {
            const ret = arg0.now();
            return ret;
        },
        __wbg_now_463ac581d2fc7ea3: function() {
            const ret = Date.now();
            return ret;
        },
        __wbg_objectStoreNames_2b913d9b7111553d: function(arg0) {
            const ret = arg0.objectStoreNames;
            return ret;
        },
        __wbg_objectStore_a2b5ae038954c7ba: function() { return handleError(function (arg0, arg1, arg2) {
            const ret = arg0.objectStore(getStringFromWasm0(arg1, arg2));
            return ret;
        }, arguments); },
        __wbg_of_027eb15371aac932: function(arg0) {
            const ret = Array.of(arg0);
            return ret;
        },
        __wbg_oldVersion_c9664e93ad7fc373: function(arg0) {
            const ret = arg0.oldVersion;
            return ret;
        },
        __wbg_openCursor_38116078b165e7e2: function() { return handleError(function (arg0) {
            const ret = arg0.openCursor();
            return ret;
        }, arguments); },
        __wbg_open_0b7832f51fde5a5f: function() { return handleError(function (arg0, arg1, arg2, arg3) {
            const ret = arg0.open(getStringFromWasm0(arg1, arg2), arg3 >>> 0);
            return ret;
        }, arguments); },
        __wbg_persisted_48ad7d83987f275b: function() { return handleError(function (arg0) {
            const ret = arg0.persisted();
            return ret;
        }, arguments); },
        __wbg_picture_1071e1a83eb17d6e: function(arg0, arg1, arg2, arg3, arg4, arg5, arg6, arg7, arg8, arg9, arg10, arg11) {
            const ret = picture(getStringFromWasm0(arg0, arg1), arg2 === 0 ? undefined : getStringFromWasm0(arg2, arg3), getStringFromWasm0(arg4, arg5), arg6, arg7 !== 0, arg8, arg9 === 0 ? undefined : getStringFromWasm0(arg9, arg10), arg11);
            return ret;
        },
        __wbg_postMessage_d9b34e55bfab4bdd: function() { return handleError(function (arg0, arg1) {
            arg0.postMessage(arg1);
        }, arguments); },
        __wbg_prototypesetcall_13162965d1fe7aa3: function(arg0, arg1, arg2) {
            Uint8Array.prototype.set.call(getArrayU8FromWasm0(arg0, arg1), arg2);
        },
        __wbg_push_c9f4893fc209f768: function(arg0, arg1) {
            const ret = arg0.push(arg1);
            return ret;
        },
        __wbg_put_45e63ad2e48de8d7: function() { return handleError(function (arg0, arg1, arg2) {
            const ret = arg0.put(arg1, arg2);
            return ret;
        }, arguments); },
        __wbg_queueMicrotask_1e8503a8a690f0a3: function(arg0) {
            const ret = arg0.queueMicrotask;
            return ret;
        },
        __wbg_queueMicrotask_4a1a4d8dd332373b: function(arg0) {
            queueMicrotask(arg0);
        },
        __wbg_random_df36b90cd78a7d54: function() {
            const ret = Math.random();
            return ret;
        },
        __wbg_read_e3bea75dace70752: function(arg0) {
            const ret = arg0.read();
            return ret;
        },
        __wbg_reject_334b730b3c00849b: function(arg0) {
            const ret = Promise.reject(arg0);
            return ret;
        },
        __wbg_removeItem_6db621e167d16a1c: function() { return handleError(function (arg0, arg1, arg2) {
            arg0.removeItem(getStringFromWasm0(arg1, arg2));
        }, arguments); },
        __wbg_resolve_dbf78ab4942478b0: function(arg0) {
            const ret = Promise.resolve(arg0);
            return ret;
        },
        __wbg_result_11a492b710594c52: function() { return handleError(function (arg0) {
            const ret = arg0.result;
            return ret;
        }, arguments); },
        __wbg_revokeObjectURL_52940372bc4245cf: function() { return handleError(function (arg0, arg1) {
            URL.revokeObjectURL(getStringFromWasm0(arg0, arg1));
        }, arguments); },
        __wbg_setItem_cfa3cb31f271776a: function() { return handleError(function (arg0, arg1, arg2, arg3, arg4) {
            arg0.setItem(getStringFromWasm0(arg1, arg2), getStringFromWasm0(arg3, arg4));
        }, arguments); },
        __wbg_set_2793479888329cb6: function() { return handleError(function (arg0, arg1, arg2) {
            const ret = Reflect.set(arg0, arg1, arg2);
            return ret;
        }, arguments); },
        __wbg_set_bcb0ec2400cfa22e: function() { return handleError(function (arg0, arg1, arg2, arg3, arg4) {
            arg0.set(getStringFromWasm0(arg1, arg2), getStringFromWasm0(arg3, arg4));
        }, arguments); },
        __wbg_set_body_877d5251e78ca815: function(arg0, arg1) {
            arg0.body = arg1;
        },
        __wbg_set_credentials_bb5277b4006149d4: function(arg0, arg1) {
            arg0.credentials = __wbindgen_enum_RequestCredentials[arg1];
        },
        __wbg_set_headers_6d75a7df4eb22716: function(arg0, arg1) {
            arg0.headers = arg1;
        },
        __wbg_set_method_639e69af35614d36: function(arg0, arg1, arg2) {
            arg0.method = getStringFromWasm0(arg1, arg2);
        },
        __wbg_set_mode_07e051ad8b4e2126: function(arg0, arg1) {
            arg0.mode = __wbindgen_enum_RequestMode[arg1];
        },
        __wbg_set_name_822e3903f3184979: function(arg0, arg1, arg2) {
            arg0.name = getStringFromWasm0(arg1, arg2);
        },
        __wbg_set_onabort_7ebb01d240653002: function(arg0, arg1) {
            arg0.onabort = arg1;
        },
        __wbg_set_onclose_8b9109d9c7acaf7a: function(arg0, arg1) {
            arg0.onclose = arg1;
        },
        __wbg_set_oncomplete_0d4e18f44844f3be: function(arg0, arg1) {
            arg0.oncomplete = arg1;
        },
        __wbg_set_onerror_01c46f9c43941951: function(arg0, arg1) {
            arg0.onerror = arg1;
        },
        __wbg_set_onmessage_62a5679af20d7bf7: function(arg0, arg1) {
            arg0.onmessage = arg1;
        },
        __wbg_set_onsuccess_8fa3ed2b93e36cae: function(arg0, arg1) {
            arg0.onsuccess = arg1;
        },
        __wbg_set_onupgradeneeded_e977e06888863122: function(arg0, arg1) {
            arg0.onupgradeneeded = arg1;
        },
        __wbg_set_onversionchange_c2fa20847e387f80: function(arg0, arg1) {
            arg0.onversionchange = arg1;
        },
        __wbg_set_signal_0b2eee78907e5ba7: function(arg0, arg1) {
            arg0.signal = arg1;
        },
        __wbg_set_type_609b0cea6429d7bb: function(arg0, arg1, arg2) {
            arg0.type = getStringFromWasm0(arg1, arg2);
        },
        __wbg_signal_fac908876f45725d: function(arg0) {
            const ret = arg0.signal;
            return ret;
        },
        __wbg_size_9d1084e29743663c: function(arg0) {
            const ret = arg0.size;
            return ret;
        },
        __wbg_slice_d9d11522aab6e937: function() { return handleError(function (arg0, arg1, arg2, arg3, arg4) {
            const ret = arg0.slice(arg1, arg2, getStringFromWasm0(arg3, arg4));
            return ret;
        }, arguments); },
        __wbg_static_accessor_GLOBAL_THIS_003ee833af9699fc: function() {
            const ret = typeof globalThis === 'undefined' ? undefined : globalThis;
            return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
        },
        __wbg_static_accessor_GLOBAL_e4293fb22cbe77da: function() {
            const ret = typeof global === 'undefined' ? undefined : global;
            return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
        },
        __wbg_static_accessor_SELF_53bb20457401453d: function() {
            const ret = typeof self === 'undefined' ? undefined : self;
            return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
        },
        __wbg_static_accessor_WINDOW_b5e0810bfecb7feb: function() {
            const ret = typeof window === 'undefined' ? undefined : window;
            return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
        },
        __wbg_status_cb85b6c8d1769fa1: function(arg0) {
            const ret = arg0.status;
            return ret;
        },
        __wbg_table_d2e8fcf407ae0726: function(arg0) {
            console.table(arg0);
        },
        __wbg_then_656f253a5dd7d8ea: function(arg0, arg1, arg2) {
            const ret = arg0.then(arg1, arg2);
            return ret;
        },
        __wbg_then_e3f7f2d365708be8: function(arg0, arg1) {
            const ret = arg0.then(arg1);
            return ret;
        },
        __wbg_toString_41ebd3ebcd3374d0: function(arg0) {
            const ret = arg0.toString();
            return ret;
        },
        __wbg_transaction_a26f26d9d5badcda: function(arg0) {
            const ret = arg0.transaction;
            return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
        },
        __wbg_transaction_a33b157a857a5e54: function() { return handleError(function (arg0, arg1, arg2) {
            const ret = arg0.transaction(arg1, __wbindgen_enum_IdbTransactionMode[arg2]);
            return ret;
        }, arguments); },
        __wbg_type_c93f3ee8b7eb4f89: function(arg0, arg1) {
            const ret = arg1.type;
            const ptr1 = passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            const len1 = WASM_VECTOR_LEN;
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
        },
        __wbg_value_fee1bb7efea77e71: function() { return handleError(function (arg0) {
            const ret = arg0.value;
            return ret;
        }, arguments); },
        __wbg_width_f84552448726a9a9: function(arg0) {
            const ret = arg0.width;
            return ret;
        },
        __wbindgen_generic_0000000000000001: function(arg0, arg1) {
            const ret = makeMutClosure(arg0, arg1, wasm_bindgen_a1114b3a9e2ee149___convert__closures_____invoke___wasm_bindgen_a1114b3a9e2ee149___JsValue__js_sys_742f093dc5627a1b___Promise__true_);
            return ret;
        },
        __wbindgen_generic_0000000000000002: function(arg0, arg1) {
            const ret = makeMutClosure(arg0, arg1, wasm_bindgen_a1114b3a9e2ee149___convert__closures_____invoke___wasm_bindgen_a1114b3a9e2ee149___JsValue______true_);
            return ret;
        },
        __wbindgen_generic_0000000000000003: function(arg0, arg1) {
            const ret = makeMutClosure(arg0, arg1, wasm_bindgen_a1114b3a9e2ee149___convert__closures_____invoke___wasm_bindgen_a1114b3a9e2ee149___JsValue__core_b667b33eb9d0b023___result__Result_____wasm_bindgen_a1114b3a9e2ee149___JsError___true_);
            return ret;
        },
        __wbindgen_generic_0000000000000004: function(arg0, arg1) {
            const ret = makeMutClosure(arg0, arg1, wasm_bindgen_a1114b3a9e2ee149___convert__closures_____invoke___web_sys_72a81f0819a53b11___features__gen_MessageEvent__MessageEvent______true_);
            return ret;
        },
        __wbindgen_generic_0000000000000005: function(arg0, arg1) {
            const ret = makeClosure(arg0, arg1, wasm_bindgen_a1114b3a9e2ee149___convert__closures_____invoke___alloc_dcce9937fdebb74a___string__String__wasm_bindgen_a1114b3a9e2ee149___JsValue__true_);
            return ret;
        },
        __wbindgen_generic_0000000000000006: function(arg0, arg1) {
            const ret = makeMutClosure(arg0, arg1, wasm_bindgen_a1114b3a9e2ee149___convert__closures_____invoke_______true_);
            return ret;
        },
        __wbindgen_generic_0000000000000007: function(arg0, arg1) {
            const ret = makeClosure(arg0, arg1, wasm_bindgen_a1114b3a9e2ee149___convert__closures_____invoke___wasm_bindgen_a1114b3a9e2ee149___JsValue__true_);
            return ret;
        },
        __wbindgen_generic_0000000000000008: function(arg0) {
            const ret = arg0;
            return ret;
        },
        __wbindgen_generic_0000000000000009: function(arg0, arg1) {
            const ret = getStringFromWasm0(arg0, arg1);
            return ret;
        },
        __wbindgen_init_externref_table: function() {
            const table = wasm.__wbindgen_externrefs;
            table.set(0, undefined);
            table.set(1024, undefined);
            table.set(1025, null);
            table.set(1026, true);
            table.set(1027, false);
        },
    };
    return {
        __proto__: null,
        "./avatar_cache_bg.js": import0,
    };
}

function wasm_bindgen_a1114b3a9e2ee149___convert__closures_____invoke_______true_(arg0, arg1) {
    wasm.wasm_bindgen_a1114b3a9e2ee149___convert__closures_____invoke_______true_(arg0, arg1);
}

function wasm_bindgen_a1114b3a9e2ee149___convert__closures_____invoke___wasm_bindgen_a1114b3a9e2ee149___JsValue__true_(arg0, arg1) {
    const ret = wasm.wasm_bindgen_a1114b3a9e2ee149___convert__closures_____invoke___wasm_bindgen_a1114b3a9e2ee149___JsValue__true_(arg0, arg1);
    return ret;
}

function wasm_bindgen_a1114b3a9e2ee149___convert__closures_____invoke___wasm_bindgen_a1114b3a9e2ee149___JsValue______true_(arg0, arg1, arg2) {
    wasm.wasm_bindgen_a1114b3a9e2ee149___convert__closures_____invoke___wasm_bindgen_a1114b3a9e2ee149___JsValue______true_(arg0, arg1, arg2);
}

function wasm_bindgen_a1114b3a9e2ee149___convert__closures_____invoke___web_sys_72a81f0819a53b11___features__gen_MessageEvent__MessageEvent______true_(arg0, arg1, arg2) {
    wasm.wasm_bindgen_a1114b3a9e2ee149___convert__closures_____invoke___web_sys_72a81f0819a53b11___features__gen_MessageEvent__MessageEvent______true_(arg0, arg1, arg2);
}

function wasm_bindgen_a1114b3a9e2ee149___convert__closures_____invoke___wasm_bindgen_a1114b3a9e2ee149___JsValue__js_sys_742f093dc5627a1b___Promise__true_(arg0, arg1, arg2) {
    const ret = wasm.wasm_bindgen_a1114b3a9e2ee149___convert__closures_____invoke___wasm_bindgen_a1114b3a9e2ee149___JsValue__js_sys_742f093dc5627a1b___Promise__true_(arg0, arg1, arg2);
    return ret;
}

function wasm_bindgen_a1114b3a9e2ee149___convert__closures_____invoke___wasm_bindgen_a1114b3a9e2ee149___JsValue__core_b667b33eb9d0b023___result__Result_____wasm_bindgen_a1114b3a9e2ee149___JsError___true_(arg0, arg1, arg2) {
    const ret = wasm.wasm_bindgen_a1114b3a9e2ee149___convert__closures_____invoke___wasm_bindgen_a1114b3a9e2ee149___JsValue__core_b667b33eb9d0b023___result__Result_____wasm_bindgen_a1114b3a9e2ee149___JsError___true_(arg0, arg1, arg2);
    if (ret[1]) {
        throw takeFromExternrefTable0(ret[0]);
    }
}

function wasm_bindgen_a1114b3a9e2ee149___convert__closures_____invoke___js_sys_742f093dc5627a1b___Function_fn_wasm_bindgen_a1114b3a9e2ee149___JsValue_____wasm_bindgen_a1114b3a9e2ee149___sys__Undefined___js_sys_742f093dc5627a1b___Function_fn_wasm_bindgen_a1114b3a9e2ee149___JsValue_____wasm_bindgen_a1114b3a9e2ee149___sys__Undefined_______true_(arg0, arg1, arg2, arg3) {
    wasm.wasm_bindgen_a1114b3a9e2ee149___convert__closures_____invoke___js_sys_742f093dc5627a1b___Function_fn_wasm_bindgen_a1114b3a9e2ee149___JsValue_____wasm_bindgen_a1114b3a9e2ee149___sys__Undefined___js_sys_742f093dc5627a1b___Function_fn_wasm_bindgen_a1114b3a9e2ee149___JsValue_____wasm_bindgen_a1114b3a9e2ee149___sys__Undefined_______true_(arg0, arg1, arg2, arg3);
}

function wasm_bindgen_a1114b3a9e2ee149___convert__closures_____invoke___alloc_dcce9937fdebb74a___string__String__wasm_bindgen_a1114b3a9e2ee149___JsValue__true_(arg0, arg1, arg2) {
    const ptr0 = passStringToWasm0(arg2, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
    const len0 = WASM_VECTOR_LEN;
    const ret = wasm.wasm_bindgen_a1114b3a9e2ee149___convert__closures_____invoke___alloc_dcce9937fdebb74a___string__String__wasm_bindgen_a1114b3a9e2ee149___JsValue__true_(arg0, arg1, ptr0, len0);
    return ret;
}


const __wbindgen_enum_IdbTransactionMode = ["readonly", "readwrite", "versionchange", "readwriteflush", "cleanup"];


const __wbindgen_enum_RequestCredentials = ["omit", "same-origin", "include"];


const __wbindgen_enum_RequestMode = ["same-origin", "no-cors", "cors", "navigate"];
const AvatarCacheFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_avatarcache_free(ptr, 1));

function addToExternrefTable0(obj) {
    const idx = wasm.__externref_table_alloc();
    wasm.__wbindgen_externrefs.set(idx, obj);
    return idx;
}

const CLOSURE_DTORS = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(state => wasm.__wbindgen_destroy_closure(state.a, state.b));

function getArrayU8FromWasm0(ptr, len) {
    ptr = ptr >>> 0;
    return getUint8ArrayMemory0().subarray(ptr / 1, ptr / 1 + len);
}

let cachedDataViewMemory0 = null;
function getDataViewMemory0() {
    if (cachedDataViewMemory0 === null || cachedDataViewMemory0.buffer.detached === true || (cachedDataViewMemory0.buffer.detached === undefined && cachedDataViewMemory0.buffer !== wasm.memory.buffer)) {
        cachedDataViewMemory0 = new DataView(wasm.memory.buffer);
    }
    return cachedDataViewMemory0;
}

function getStringFromWasm0(ptr, len) {
    ptr = ptr >>> 0;
    return decodeText(getUint8ArrayMemory0().subarray(ptr, ptr + len));
}

let cachedUint8ArrayMemory0 = null;
function getUint8ArrayMemory0() {
    if (cachedUint8ArrayMemory0 === null || cachedUint8ArrayMemory0.byteLength === 0) {
        cachedUint8ArrayMemory0 = new Uint8Array(wasm.memory.buffer);
    }
    return cachedUint8ArrayMemory0;
}

function handleError(f, args) {
    try {
        return f.apply(this, args);
    } catch (e) {
        const idx = addToExternrefTable0(e);
        wasm.__wbindgen_exn_store(idx);
    }
}

function isLikeNone(x) {
    return x === undefined || x === null;
}

function makeClosure(arg0, arg1, f) {
    const state = { a: arg0, b: arg1, cnt: 1 };
    const real = (...args) => {

        state.cnt++;
        try {
            return f(state.a, state.b, ...args);
        } finally {
            real._wbg_cb_unref();
        }
    };
    real._wbg_cb_unref = () => {
        if (--state.cnt === 0) {
            wasm.__wbindgen_destroy_closure(state.a, state.b);
            state.a = 0;
            CLOSURE_DTORS.unregister(state);
        }
    };
    CLOSURE_DTORS.register(real, state, state);
    return real;
}

function makeMutClosure(arg0, arg1, f) {
    const state = { a: arg0, b: arg1, cnt: 1 };
    const real = (...args) => {

        state.cnt++;
        const a = state.a;
        state.a = 0;
        try {
            return f(a, state.b, ...args);
        } finally {
            state.a = a;
            real._wbg_cb_unref();
        }
    };
    real._wbg_cb_unref = () => {
        if (--state.cnt === 0) {
            wasm.__wbindgen_destroy_closure(state.a, state.b);
            state.a = 0;
            CLOSURE_DTORS.unregister(state);
        }
    };
    CLOSURE_DTORS.register(real, state, state);
    return real;
}

function passArray8ToWasm0(arg, malloc) {
    const ptr = malloc(arg.length * 1, 1) >>> 0;
    getUint8ArrayMemory0().set(arg, ptr / 1);
    WASM_VECTOR_LEN = arg.length;
    return ptr;
}

function passStringToWasm0(arg, malloc, realloc) {
    if (realloc === undefined) {
        const buf = cachedTextEncoder.encode(arg);
        const ptr = malloc(buf.length, 1) >>> 0;
        getUint8ArrayMemory0().subarray(ptr, ptr + buf.length).set(buf);
        WASM_VECTOR_LEN = buf.length;
        return ptr;
    }

    let len = arg.length;
    let ptr = malloc(len, 1) >>> 0;

    const mem = getUint8ArrayMemory0();

    let offset = 0;

    for (; offset < len; offset++) {
        const code = arg.charCodeAt(offset);
        if (code > 0x7F) break;
        mem[ptr + offset] = code;
    }
    if (offset !== len) {
        if (offset !== 0) {
            arg = arg.slice(offset);
        }
        ptr = realloc(ptr, len, len = offset + arg.length * 3, 1) >>> 0;
        const view = getUint8ArrayMemory0().subarray(ptr + offset, ptr + len);
        const ret = cachedTextEncoder.encodeInto(arg, view);

        offset += ret.written;
        ptr = realloc(ptr, len, offset, 1) >>> 0;
    }

    WASM_VECTOR_LEN = offset;
    return ptr;
}

function takeFromExternrefTable0(idx) {
    const value = wasm.__wbindgen_externrefs.get(idx);
    wasm.__externref_table_dealloc(idx);
    return value;
}

let cachedTextDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
cachedTextDecoder.decode();
const MAX_SAFARI_DECODE_BYTES = 2146435072;
let numBytesDecoded = 0;
function decodeText(bytes) {
    numBytesDecoded += bytes.length;
    if (numBytesDecoded >= MAX_SAFARI_DECODE_BYTES) {
        cachedTextDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
        cachedTextDecoder.decode();
        numBytesDecoded = bytes.length;
    }
    return cachedTextDecoder.decode(bytes);
}

const cachedTextEncoder = new TextEncoder();

if (!('encodeInto' in cachedTextEncoder)) {
    cachedTextEncoder.encodeInto = function (arg, view) {
        const buf = cachedTextEncoder.encode(arg);
        view.set(buf);
        return {
            read: arg.length,
            written: buf.length
        };
    };
}

let WASM_VECTOR_LEN = 0;

let wasmModule, wasmInstance, wasm;
function __wbg_finalize_init(instance, module) {
    wasmInstance = instance;
    wasm = instance.exports;
    wasmModule = module;
    cachedDataViewMemory0 = null;
    cachedUint8ArrayMemory0 = null;
    wasm.__wbindgen_start();
    return wasm;
}

async function __wbg_load(module, imports) {
    if (typeof Response === 'function' && module instanceof Response) {
        if (!module.ok) {
            throw new Error(`failed to fetch Wasm: ${module.status} ${module.statusText} fetching '${module.url}'`);
        }

        if (typeof WebAssembly.instantiateStreaming === 'function') {
            try {
                return await WebAssembly.instantiateStreaming(module, imports);
            } catch (e) {
                const validResponse = expectedResponseType(module.type);

                if (validResponse && module.headers.get('Content-Type') !== 'application/wasm') {
                    console.warn("`WebAssembly.instantiateStreaming` failed because your server does not serve Wasm with `application/wasm` MIME type. Falling back to `WebAssembly.instantiate` which is slower. Original error:\n", e);

                } else { throw e; }
            }
        }

        const bytes = await module.arrayBuffer();
        return await WebAssembly.instantiate(bytes, imports);
    } else {
        const instance = await WebAssembly.instantiate(module, imports);

        if (instance instanceof WebAssembly.Instance) {
            return { instance, module };
        } else {
            return instance;
        }
    }

    function expectedResponseType(type) {
        switch (type) {
            case 'basic': case 'cors': case 'default': return true;
        }
        return false;
    }
}

function initSync(module) {
    if (wasm !== undefined) return wasm;


    if (module !== undefined) {
        if (Object.getPrototypeOf(module) === Object.prototype) {
            ({module} = module)
        } else {
            console.warn('using deprecated parameters for `initSync()`; pass a single object instead')
        }
    }

    const imports = __wbg_get_imports();
    if (!(module instanceof WebAssembly.Module)) {
        module = new WebAssembly.Module(module);
    }
    const instance = new WebAssembly.Instance(module, imports);
    return __wbg_finalize_init(instance, module);
}

let __wbg_init_promise;
async function __wbg_init(module_or_path) {
    if (wasm !== undefined) return wasm;
    if (__wbg_init_promise === undefined) {
        __wbg_init_promise = __wbg_init_once(module_or_path);
        __wbg_init_promise.catch(() => { __wbg_init_promise = undefined; });
    }
    return __wbg_init_promise;
}

async function __wbg_init_once(module_or_path) {

    if (module_or_path !== undefined) {
        if (Object.getPrototypeOf(module_or_path) === Object.prototype) {
            ({module_or_path} = module_or_path)
        } else {
            console.warn('using deprecated parameters for the initialization function; pass a single object instead')
        }
    }

    if (module_or_path === undefined) {
        module_or_path = new URL('avatar_cache_bg.wasm', import.meta.url);
    }
    const imports = __wbg_get_imports();

    if (typeof module_or_path === 'string' || (typeof Request === 'function' && module_or_path instanceof Request) || (typeof URL === 'function' && module_or_path instanceof URL)) {
        module_or_path = fetch(module_or_path);
    }

    const { instance, module } = await __wbg_load(await module_or_path, imports);

    return __wbg_finalize_init(instance, module);
}

// ----- loading ---------------------------------------------------------------------------------
const init = __wbg_init;

/** Why this is not a browser (a page or a worker), or null when it is. */
function notABrowser() {
  if (typeof window === "undefined" || typeof document === "undefined") {
    if (typeof WorkerGlobalScope !== "undefined" && globalThis instanceof WorkerGlobalScope) return null;
    return "there is no window or document here (Node, a server render or a test runner)";
  }
  const agent = (globalThis.navigator && globalThis.navigator.userAgent) || "";
  if (/\bjsdom\b/i.test(agent)) return "this is jsdom, a DOM emulation without IndexedDB or a way to load the WebAssembly";
  if (/happy-?dom/i.test(agent)) return "this is happy-dom, a DOM emulation without IndexedDB or a way to load the WebAssembly";
  return null;
}

function error(code, message) {
  const e = new Error(message);
  e.name = "AvatarCacheError";
  e.code = code;
  return e;
}

/** Whether `value` is an error thrown by avatar-cache (`code`, and `field` for bad config). */
export function isAvatarCacheError(value) {
  return value instanceof Error && value.name === "AvatarCacheError" && typeof value.code === "string";
}

const wasmUrl = new URL("./avatar_cache_bg.wasm", import.meta.url);

/**
 * The module, compiled from the moment this file is evaluated in a browser: an app that imports
 * avatar-cache and opens the cache later (in a provider, after its first render) finds it
 * compiled, or compiling, instead of starting then. null outside a browser (nothing is fetched
 * there) and where streaming compilation is missing or failed: ready() then fetches and compiles
 * as the generated loader does, and reports what went wrong.
 */
let compiling = compileEarly();

function compileEarly() {
  if (notABrowser() || typeof WebAssembly !== "object" || typeof WebAssembly.compileStreaming !== "function") return null;
  try {
    return WebAssembly.compileStreaming(fetch(wasmUrl)).catch(() => null);
  } catch {
    return null;
  }
}

let loading;

/** Loads the WebAssembly module once; resolves when it is ready. Rejects outside a browser. */
export function ready() {
  if (!loading) {
    const why = notABrowser();
    if (why) {
      return Promise.reject(
        error(
          "UNSUPPORTED_ENVIRONMENT",
          `avatar-cache: AvatarCache.open() needs a browser: ${why}. In unit tests, use the in-memory stand-in ` +
            'from "avatar-cache/testing"; on a server, render without a cache (avatar-cache/react shows the fallback).',
        ),
      );
    }
    loading = Promise.resolve(compiling)
      .then((module) => init({ module_or_path: module ?? wasmUrl }))
      .then(
        () => undefined,
        (e) => {
          loading = undefined;
          compiling = null;
          throw e;
        },
      );
  }
  return loading;
}

/**
 * Starts opening the cache's IndexedDB database while the module is still being fetched and
 * compiled, so the engine has the database loaded by the time open() asks for it. A database
 * that does not exist yet is not created here (the upgrade is aborted: open() creates it with
 * its schema), and the connection is closed as soon as it opens, so it never blocks an upgrade.
 */
function warmDatabase(config) {
  try {
    if (config?.idb?.enabled === false || typeof indexedDB === "undefined") return;
    const request = indexedDB.open(`${config?.namespace ?? "profile_pic"}:avatar-cache`);
    request.onupgradeneeded = () => request.transaction.abort();
    request.onsuccess = () => request.result.close();
    request.onerror = (event) => event.preventDefault();
    request.onblocked = () => {};
  } catch {
    // A browser that refuses IndexedDB here refuses it to open() too, which reports it.
  }
}

if (AvatarCache && typeof AvatarCache.open === "function" && !AvatarCache.open.__avatarCacheReady) {
  const open = AvatarCache.open;
  const openWhenReady = async function open_(config) {
    warmDatabase(config);
    await ready();
    return open.call(AvatarCache, config);
  };
  Object.defineProperty(openWhenReady, "name", { value: "open" });
  Object.defineProperty(openWhenReady, "__avatarCacheReady", { value: true });
  Object.defineProperty(AvatarCache, "open", { value: openWhenReady, writable: true, configurable: true });
}

// The caches opened by openAvatarCache, by namespace, kept on globalThis so that a module
// evaluated twice (hot reload, two bundles) still finds them. avatar-cache/react reads it too.
const OPENED = Symbol.for("avatar-cache.opened");

/**
 * The app's one cache for `config.namespace`: the first call opens it, every later call (a
 * StrictMode remount, a hot reload, another provider) gets the same promise. After the cache is
 * closed, or when opening failed, the next call opens a new one.
 */
export function openAvatarCache(config) {
  const opened = (globalThis[OPENED] ??= new Map());
  const namespace = String((config && config.namespace) ?? "profile_pic");
  const existing = opened.get(namespace);
  if (existing) return existing.promise;
  const entry = { promise: undefined, cache: undefined };
  const forget = () => {
    if (opened.get(namespace) === entry) opened.delete(namespace);
  };
  entry.promise = AvatarCache.open(config).then(
    (cache) => {
      entry.cache = cache;
      const close = cache.close;
      Object.defineProperty(cache, "close", {
        value: function close_() {
          forget();
          return close.call(this);
        },
        configurable: true,
        writable: true,
      });
      return cache;
    },
    (e) => {
      forget();
      throw e;
    },
  );
  opened.set(namespace, entry);
  return entry.promise;
}
